package protocol_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSyncCrawlStops: a store that keeps each History answer truncated just past its
// since, with nothing new (crawlStore), costs one Sync at most two History calls, not a loop
// until SyncTimeout (review 9: 483 calls in 10 s, each fetching the honest stores' whole
// window again). The Sync fails (the answer is not complete) with its progress kept: the
// next Sync asks from past the first one's since.
func TestSyncCrawlStops(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 95}, 1)
	a := tn.peers[0]
	cs := &crawlStore{}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { cs.Node = n; return cs },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)

	cs.crawl.Store(true)
	sctx, cancel := context.WithTimeout(context.WithValue(ctx, ownCall{}, true), time.Minute)
	defer cancel()
	err = b.c.Sync(sctx)
	calls := cs.own.Load() // Run's own catch-ups may ask too, beside this Sync
	t.Logf("Sync against a crawling store: %d History calls, err %v", calls, err)
	if calls == 0 {
		t.Fatal("set-up: the crawling store was never asked")
	}
	if calls > 2 {
		t.Errorf("one Sync made %d History calls to a store whose answers bring nothing new, want at most 2", calls)
	}
	if !errors.Is(err, transport.ErrHistoryTruncated) {
		t.Errorf("Sync = %v, want an error wrapping ErrHistoryTruncated (the answer is not complete)", err)
	}
}
