package protocol_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// lateStore is a memory node whose history store has not yet received the envelopes in
// hidden (a store node that got them late, over a flaky relay): History leaves them out
// until they are released.
type lateStore struct {
	*memory.Node
	mu     sync.Mutex
	hidden map[[32]byte]bool
}

func (l *lateStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	envs, err := l.Node.History(ctx, topics, since, until)
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.DeleteFunc(envs, func(e transport.Envelope) bool { return l.hidden[e.Hash] }), err
}

func (l *lateStore) hide(hs ...[32]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hidden == nil {
		l.hidden = map[[32]byte]bool{}
	}
	for _, h := range hs {
		l.hidden[h] = true
	}
}

func (l *lateStore) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hidden = nil
}

// fix47Scene: admin a creates a group with b and c (c over a lateStore; one clock, offset
// by skew, for the network's stamps and every client). c is paused (its live delivery is
// the test's Inject). a renames the group to "P" (event P), then, if beforePoint, the clock
// moves 3 minutes on and c Syncs while its store does not yet hold P's envelope: c's sync
// point passes P (more than syncMargin after P's stamp) without c having P; the store then
// gets P. a renames to "Q" (event Q, naming P as its parent); c gets Q's envelopes live
// (Inject) but never P's. It returns c, the group and the name c shows after Q.
func fix47Scene(t *testing.T, seed int64, beforePoint bool) (*peer, protocol.GroupID, string) {
	t.Helper()
	ctx := context.Background()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: seed, Now: now}, 0, protocol.WithClock(now))
	a, b := tn.add("a"), tn.add("b")
	ls := &lateStore{}
	c := tn.addVia("c", func(n *memory.Node) protocol.Transport { ls.Node = n; return ls },
		protocol.WithClock(now), protocol.WithBurstSpread(0))
	tn.connect(a, b, c)
	g, err := a.c.CreateGroup(ctx, "g0", "", b.id, c.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b, c)
	tn.settle()
	tp, seen := tapPaused(t, tn, a, c, g)

	must(t, a.c.SetName(ctx, g, "P"))
	tn.waitFor("P's publish", func() bool { return len(tp.all()) > seen })
	tn.waitFor("b to apply P", func() bool { info, err := b.c.Group(ctx, g); return err == nil && info.Name == "P" })
	var pHashes [][32]byte
	for _, e := range tp.all()[seen:] {
		pHashes = append(pHashes, e.Hash)
	}
	seen = len(tp.all())
	if beforePoint {
		skew.Add(int64(3 * time.Minute))
		ls.hide(pHashes...)
		must(t, c.c.Sync(ctx))
		ls.release()
		if info, err := c.c.Group(ctx, g); err != nil || info.Name != "g0" {
			t.Fatalf("precondition: c has P before Q (name %q, %v)", info.Name, err)
		}
	}

	must(t, a.c.SetName(ctx, g, "Q"))
	tn.waitFor("Q's publish", func() bool { return len(tp.all()) > seen })
	tn.waitFor("b to apply Q", func() bool { info, err := b.c.Group(ctx, g); return err == nil && info.Name == "Q" })
	for _, e := range tp.all()[seen:] {
		protocol.Inject(c.c, e.Topic, e.Payload)
	}
	info, err := c.c.Group(ctx, g)
	must(t, err)
	return c, g, info.Name
}

// TestFix47PendingParentWithinPoint: c's live delivery drops the admin's rename P and
// delivers the next rename Q (naming P: pending at c). P's envelope is within c's sync
// point (its stamp later than c's last sync minus syncMargin), so c's next Sync fetches
// P from the store and applies P, then Q. Regression test (passed before fix 47: 3 of 3).
func TestFix47PendingParentWithinPoint(t *testing.T) {
	c, g, name := fix47Scene(t, 4701, false)
	if name != "g0" {
		t.Fatalf("precondition: Q applied without P (name %q)", name)
	}
	must(t, c.c.Sync(context.Background()))
	if info, err := c.c.Group(context.Background(), g); err != nil || info.Name != "Q" {
		t.Fatalf("after Sync c shows name %q (%v), want Q: the pending event's parent was not fetched", info.Name, err)
	}
}

// TestFix47PendingParentBeforePoint: as above, but c's sync point passed P without c
// having P — c Synced 3 minutes after P while the store it asked did not yet hold P's
// envelope (a store node that got it late); the store then gets it. Q arrives live,
// pending (its parent P not held). Before fix 47 nothing ever fetched P again: every later
// Sync asked the store from c's last sync minus syncMargin, after P's stamp, so P and Q
// stayed unapplied for good (failed 3 of 3 runs: c showed "g0" after any number of Syncs).
// Now a pending membership event naming a parent not held moves its group topic's sync
// point back to the history window's start, once per missing parent, and the next Sync
// (here the first) fetches P.
func TestFix47PendingParentBeforePoint(t *testing.T) {
	c, g, name := fix47Scene(t, 4702, true)
	if name != "g0" {
		t.Fatalf("precondition: Q applied without P (name %q)", name)
	}
	must(t, c.c.Sync(context.Background()))
	if info, err := c.c.Group(context.Background(), g); err != nil || info.Name != "Q" {
		t.Fatalf("after Sync c shows name %q (%v), want Q: the pending event's parent was not fetched", info.Name, err)
	}
}
