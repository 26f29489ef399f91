package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestResumeLiarTimesShrink: with resume points per store, Sync stops on a truncated
// answer that brought nothing taken and shrank below half the previous one — but only
// when the call asked fewer stores than the previous one (some finished: the liar is
// left alone). On size alone a lying store could time it: a full answer of made-up
// messages (2 × the honest store's bound) in one round, one message in the next, while
// the honest store, still cut short, brings envelopes already taken (received live), and
// end every Sync before the honest store gets past them. Here b reads 25 messages live,
// then misses 10 while paused; the honest store answers at most 10 per call; b syncs
// twice (2 s each).
//
// Asserted: b reads the 10 messages it missed (on size alone: 0 of 10, each Sync ended
// in its second round).
func TestResumeLiarTimesShrink(t *testing.T) {
	ctx := context.Background()
	ps := &pacedStore{limit: 10, liar: true, timed: true}
	_, a, b, g := storeScene(t, 137, func(n *memory.Node) protocol.Transport { ps.Node = n; return ps }, numbered("live", 25))

	b.pause() // no live delivery: only history
	sendAway(t, a, g, 10)
	ps.pace.Store(true)
	got := func() int { return awayRead(b, g) }
	for i := range 2 {
		before := ps.calls.Load()
		err := syncWithin(ctx, b, 2*time.Second)
		t.Logf("b's Sync %d: %d of 10 read, %d History calls, err %v", i, got(), ps.calls.Load()-before, err)
	}
	if n := got(); n < 10 {
		t.Errorf("b read %d of the 10 messages it missed: a lying store timing a full answer and then one message ended each Sync while the honest store brought messages already read", n)
	}
}
