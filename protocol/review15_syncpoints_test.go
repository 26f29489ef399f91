package protocol_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview15SyncPointClockSetBack: b's clock runs an hour ahead during a Sync that the
// liar cuts short (TestSyncPointsBetweenSyncs' store pair), so the honest store, which
// answered in full, gets a point an hour in the future; then b's clock is set right. A
// sends 3 messages; b's next Syncs (the liar still cutting every answer) must read them.
// queryPoints counts a point past now + syncMargin as now + syncMargin: the honest store
// is asked from the Sync's start, past the 3 messages, and every later Sync asks it from
// its previous start: they are never asked of the store that holds them (the liar never
// brings them). Ignoring such a point (asking the store from the last sync, as a store
// without one) loses nothing.
func TestReview15SyncPointClockSetBack(t *testing.T) {
	ctx := context.Background()
	skew, ahead := new(atomic.Int64), new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	clockB := func() time.Time { return clock().Add(time.Duration(ahead.Load())) }
	tn := newNetWith(t, memory.Config{Seed: 215, Now: clock}, 1, protocol.WithClock(clock))
	a := tn.peers[0]
	sp := &storePair{limit: 4}
	b := addPair(tn, "b", ":memory:", sp, protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0), protocol.WithClock(clockB))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	mustSend(t, a, g, "before")
	waitTexts(t, tn, g, []string{"before"}, b)
	b.pause()
	sp.on.Store(true)
	s := &pairScene{tn: tn, a: a, b: b, g: g, sp: sp, skew: skew}
	s.away(t, 0, 6)
	ahead.Store(int64(time.Hour)) // b's clock an hour ahead
	s.sync(t, 0)
	if m := s.missing(); len(m) > 0 {
		t.Fatalf("set-up: b's first Sync left %d messages unread: %v", len(m), m)
	}
	ahead.Store(0) // set right
	s.away(t, 1, 3)
	q := sp.queries()
	for k := 1; k <= 3; k++ {
		s.sync(t, k)
	}
	asks, _ := sp.honestAsks(q)
	t.Logf("the honest store asked %d times after the clock was set right", len(asks))
	if m := s.missing(); len(m) > 0 {
		t.Errorf("b never read %d of a's %d messages after its clock was set back (the honest store asked only from each Sync's start): %v", len(m), len(s.sent), m)
	}
}

// TestReview15LiarHoldsQuietSync: with the honest store's point kept, a Sync when nothing
// new was published (a client syncing every minute, most Syncs) asks the honest store
// from its point — it answers nothing and is done — and the liar alone, one made-up
// message 1 ms past its point a call. Review 13's bound ends such a Sync once a call that
// asked fewer sources than an earlier one (the honest store done) brings nothing taken
// and fewer than half the previous answer's envelopes; here every answer is the liar's
// one envelope (1 is not fewer than half of 1), so the Sync goes on, a call a round,
// until its context ends (Run: SyncTimeout, 10 minutes), and the next starts over.
// Before points the honest store's first answer was its whole window again from the
// liar's cut, and the Sync ended at the second call.
//
// Measured (2 cores, load 5): the quiet Sync ran to its 3 s deadline with 47,275 History
// calls (a core spinning on made-up messages); with the points not used (the honest
// store asked from the last sync, as before them) it ended in 1 ms.
//
// Asserted: the quiet Sync ends on its own (not by its 3 s deadline) within 1 s.
func TestReview15LiarHoldsQuietSync(t *testing.T) {
	s := newPairScene(t, 216, ":memory:")
	s.away(t, 0, 6)
	s.sync(t, 0)
	if m := s.missing(); len(m) > 0 {
		t.Fatalf("set-up: b's first Sync left %d messages unread: %v", len(m), m)
	}
	s.skew.Add(int64(time.Minute)) // a minute later, nothing new
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	q := s.sp.queries()
	start := time.Now()
	err := s.b.c.Sync(ctx)
	took := time.Since(start)
	asks, _ := s.sp.honestAsks(q)
	t.Logf("quiet Sync: %v in %v, the honest store asked %d times", err, took.Round(time.Millisecond), len(asks))
	if errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("a Sync with nothing new, the honest store done at its first call, ran %v until %v: the liar held it open", took.Round(time.Millisecond), err)
	}
}
