package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix19SyncRetryBoundedByLiar: Run starts the next Sync soon after one cut short
// (TestReview19FloodCutNoRetry), after a pause that doubles while they keep being cut. A
// lying store, b's only one, cutting every answer 1 ms past since with 256 made-up
// envelopes, so that every Sync ends at the fruitless budget, must not make Run spin: over
// 3 s with periodic syncs off, the pauses (at least 100 ms, doubling) leave room for at most
// about log2(3 s / 100 ms) + 1 Syncs of the budget's 65-66 answers each; and a second Sync
// must come (within 60 s: under -race on a loaded machine one Sync can outlast the 3 s).
func TestFix19SyncRetryBoundedByLiar(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 1911}, 1)
	a := tn.peers[0]
	l := &spacingLiar{junk: 256}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { l.Node = n; return l },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	l.topic = info.Topic
	b.pause()
	l.on.Store(true)
	b.dev.Run = chorustest.Start(context.Background(), b.c, b.dev.Events)
	b.refresh()
	time.Sleep(3 * time.Second)
	calls := l.calls.Load()
	syncs := (calls + 65) / 66
	t.Logf("Run against a liar cutting every Sync at the budget, 3 s: %d History calls (~%d Syncs), %d made-up envelopes",
		calls, syncs, l.junkN.Load())
	// The upper bound holds whatever the load (a slow machine makes fewer calls, not more).
	if syncs > 8 {
		t.Errorf("Run made %d History calls in 3 s (~%d Syncs) against a liar cutting every Sync short: the pause between them does not grow", calls, syncs)
	}
	// The lower bound is liveness: a second Sync must come, but a loaded machine (-race
	// beside other work: one Sync of 65 answers with 256 made-up envelopes each took over
	// 3 s there once) may need longer than the window above to start it.
	deadline := time.Now().Add(60 * time.Second)
	for calls < 2*65 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		calls = l.calls.Load()
	}
	b.pause()
	if calls < 2*65 {
		t.Errorf("Run made %d History calls in 60 s: no Sync after the first one cut short", calls)
	}
}
