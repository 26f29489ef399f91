package protocol_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// emptyBesideStore is a memory node whose History, while pace is set, answers what
// transport/waku answers with two stores: an honest one answering at most limit messages a
// call (cut short, asked from its own cut next: the Resume state) and one that holds
// nothing for the query and answers in full at once (a store that joined later, keeps a
// shorter window, or withholds: done after the chain's first call, so every later call
// asks one store — Asked 2, then 1).
type emptyBesideStore struct {
	*memory.Node
	pace  atomic.Bool
	limit int
	calls atomic.Int64
}

func (s *emptyBesideStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.pace.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	s.calls.Add(1)
	from, asked := since, 2
	if st := transport.ResumeState(ctx); len(st) == 8 {
		asked = 1 // the empty store answered in full in the chain's first call
		if h := time.Unix(0, int64(binary.BigEndian.Uint64(st))); h.After(since) {
			from = h
		}
	}
	h, err := s.Node.History(ctx, topics, from, until)
	if err != nil {
		return nil, err
	}
	if len(h) <= s.limit {
		return h, nil
	}
	h = h[:s.limit]
	cut := h[len(h)-1].Timestamp
	return h, &transport.TruncatedError{Complete: cut, Reason: "message limit (HistoryLimit)",
		Resume: binary.BigEndian.AppendUint64(nil, uint64(cut.UnixNano())), Asked: asked}
}

// TestReview16IdleStopHonestBacklog (review 16, fix 15's stop rule): two answers in a row
// from fewer stores that took nothing end a Sync — whatever their size. With one store that
// holds nothing (done after the first call: every later call asks fewer stores) and an
// honest store cut at 10 messages a call, a client whose last Sync is older than what it
// received live gets pages of envelopes it already took from the honest store: the third
// call ends the Sync while the honest store, still cut short, holds the messages the client
// missed behind them. No lie is needed (an honest store that holds nothing for the topic
// suffices); a liar can add a made-up message a call, not changing anything. Here b reads
// 45 messages live, misses 10 while paused, then Syncs once (5 s).
//
// Asserted: that one Sync reads the 10 messages b missed (as before fix 15: the rounds go
// on while the honest store brings 10 envelopes a call). Each Sync now crosses 3 of the
// honest store's pages: a backlog of n pages already taken takes n/3 Syncs (one
// SyncInterval each) before a missed message is fetched.
func TestReview16IdleStopHonestBacklog(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 1601}, 1)
	a := tn.peers[0]
	ps := &emptyBesideStore{limit: 10}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { ps.Node = n; return ps },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	var live []string
	for i := range 45 {
		live = append(live, fmt.Sprintf("live %02d", i))
		mustSend(t, a, g, live[i])
	}
	waitTexts(t, tn, g, live, b)

	b.pause() // no live delivery: only history
	for i := range 10 {
		mustSend(t, a, g, fmt.Sprintf("away %02d", i))
	}
	ps.pace.Store(true)
	got := func() int {
		n := 0
		for text := range b.texts(g) {
			if strings.HasPrefix(text, "away ") {
				n++
			}
		}
		return n
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = b.c.Sync(sctx)
	cancel()
	n1, calls1 := got(), ps.calls.Load()
	t.Logf("b's Sync: %d of 10 read, %d History calls, err %v", n1, calls1, err)
	syncs := 1
	for ; got() < 10 && syncs < 8; syncs++ {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := b.c.Sync(sctx)
		cancel()
		t.Logf("b's Sync %d: %d of 10 read, %d History calls in all, err %v", syncs+1, got(), ps.calls.Load(), err)
	}
	if n1 < 10 {
		t.Errorf("one Sync read %d of the 10 messages b missed (%d History calls; %d Syncs to read %d): it ended on two answers of envelopes already taken while the honest store was still cut short",
			n1, calls1, syncs, got())
	}
}
