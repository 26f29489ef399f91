package protocol_test

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/membership"
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
	sinces []time.Time // every History call's since
}

func (l *lateStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	envs, err := l.Node.History(ctx, topics, since, until)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinces = append(l.sinces, since)
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

// windowFetches counts the History calls since the first of them that asked from before
// at.
func (l *lateStore) windowFetches(first int, at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.sinces[first:] {
		if s.Before(at) {
			n++
		}
	}
	return n
}

func (l *lateStore) calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sinces)
}

func (l *lateStore) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hidden = nil
}

// fix47Net: admin a creates a group "g0" with b and c (c over a lateStore; one clock,
// offset by skew, for the network's stamps and every client), all on one epoch.
type fix47Net struct {
	tn         *testNet
	a, b, c, d *peer // d: not in the group
	ls         *lateStore
	skew       *atomic.Int64
	g          protocol.GroupID
}

func newFix47Net(t *testing.T, seed int64) *fix47Net {
	t.Helper()
	ctx := context.Background()
	skew := new(atomic.Int64)
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: seed, Now: now}, 0, protocol.WithClock(now))
	a, b := tn.add("a"), tn.add("b")
	ls := &lateStore{}
	c := tn.addVia("c", func(n *memory.Node) protocol.Transport { ls.Node = n; return ls },
		protocol.WithClock(now), protocol.WithBurstSpread(0))
	d := tn.add("d")
	tn.connect(a, b, c, d)
	g, err := a.c.CreateGroup(ctx, "g0", "", b.id, c.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b, c)
	tn.settle()
	return &fix47Net{tn: tn, a: a, b: b, c: c, d: d, ls: ls, skew: skew, g: g}
}

// fix47Scene: in a fix47Net, c is paused (its live delivery is the test's Inject). a
// renames the group to "P" (event P; if add, P adds d instead), then, if beforePoint, the clock moves 3 minutes on
// and c Syncs while its store does not yet hold P's envelope: c's sync point passes P
// (more than syncMargin after P's stamp) without c having P; the store then gets P. a
// renames to "Q" (event Q, naming P as its parent); c gets Q's envelopes live (Inject)
// but never P's; it returns the net.
func fix47Scene(t *testing.T, seed int64, beforePoint, add bool) *fix47Net {
	t.Helper()
	ctx := context.Background()
	n := newFix47Net(t, seed)
	tn, a, b, c, ls, skew, g := n.tn, n.a, n.b, n.c, n.ls, n.skew, n.g
	tp, seen := tapPaused(t, tn, a, c, g)

	if add {
		must(t, a.c.AddMembers(ctx, g, n.d.id))
	} else {
		must(t, a.c.SetName(ctx, g, "P"))
	}
	tn.waitFor("P's publish", func() bool { return len(tp.all()) > seen })
	tn.waitFor("b to apply P", func() bool {
		info, err := b.c.Group(ctx, g)
		return err == nil && (info.Name == "P" || add && slices.Contains(info.Members, n.d.id))
	})
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
		if n.hasP(t, add) {
			t.Fatal("precondition: c has P before Q")
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
	if info.Name != "g0" || n.hasP(t, add) {
		t.Fatalf("precondition: c applied P or Q without P (name %q)", info.Name)
	}
	return n
}

// hasP reports whether c applied P (the rename to "P", or d's add).
func (n *fix47Net) hasP(t *testing.T, add bool) bool {
	info, err := n.c.c.Group(context.Background(), n.g)
	must(t, err)
	if add {
		return slices.Contains(info.Members, n.d.id)
	}
	return info.Name == "P"
}

// syncHasPQ has c Sync once and checks that it applied P and Q.
func (n *fix47Net) syncHasPQ(t *testing.T, add bool) {
	must(t, n.c.c.Sync(context.Background()))
	info, err := n.c.c.Group(context.Background(), n.g)
	must(t, err)
	if info.Name != "Q" || add && !slices.Contains(info.Members, n.d.id) {
		t.Fatalf("after Sync c shows name %q, d a member: %v; want Q (and d added): the pending event's parent was not fetched",
			info.Name, slices.Contains(info.Members, n.d.id))
	}
}

// TestFix47PendingParentWithinPoint: c's live delivery drops the admin's rename (or add)
// P and delivers the next rename Q (naming P: pending at c). P's envelope is within c's
// sync point (its stamp later than c's last sync minus syncMargin), so c's next Sync
// fetches P from the store and applies P, then Q. Regression test (passed before fix 47:
// 3 of 3).
func TestFix47PendingParentWithinPoint(t *testing.T) {
	for _, add := range []bool{false, true} {
		n := fix47Scene(t, 4701, false, add)
		n.syncHasPQ(t, add)
	}
}

// TestFix47PendingParentBeforePoint: as above, but c's sync point passed P without c
// having P — c Synced 3 minutes after P while the store it asked did not yet hold P's
// envelope (a store node that got it late); the store then gets it. Q arrives live,
// pending (its parent P not held). Before fix 47 nothing ever fetched P again: every later
// Sync asked the store from c's last sync minus syncMargin, after P's stamp, so P and Q
// stayed unapplied (failed 3 of 3 runs, rename case: c showed "g0" after its Sync; any
// later Sync asks from the same point on). Now a pending membership event naming a parent
// not held moves its group topic's sync point back to the history window's start, once
// per missing parent, and the next Sync (here the first) fetches P.
func TestFix47PendingParentBeforePoint(t *testing.T) {
	n := fix47Scene(t, 4702, true, false)
	n.syncHasPQ(t, false)
}

// TestFix47MadeUpParentsBounded: pending events naming parents nobody holds (a member, or
// a removed one, signing events with made-up parents) cost c at most one fetch of the
// history window per missing parent and per MissingParentFetchEvery: Syncs after the
// first do not fetch for the same ids again, a new made-up id within
// MissingParentFetchEvery waits, and is fetched for once that time has passed.
func TestFix47MadeUpParentsBounded(t *testing.T) {
	ctx := context.Background()
	n := newFix47Net(t, 4703)
	c := n.c
	c.pause()
	info, err := c.c.Group(ctx, n.g)
	must(t, err)
	key, err := crypto.GenerateKey()
	must(t, err)
	madeUp := func(name string) membership.Event {
		var p membership.EventID
		_, _ = rand.Read(p[:])
		ev, err := membership.SignEvent(key, info.ChatID, membership.Event{Type: membership.NameChanged, Name: name, Clock: uint64(time.Now().UnixMilli()), Parents: []membership.EventID{p}})
		must(t, err)
		return ev
	}
	window := func() time.Time { return time.Now().Add(time.Duration(n.skew.Load()) - time.Hour) }
	syncs := func(k int) int {
		first := n.ls.calls()
		for range k {
			must(t, c.c.Sync(ctx))
		}
		return n.ls.windowFetches(first, window())
	}
	if got := syncs(1); got != 0 {
		t.Fatalf("precondition: %d window fetches with nothing pending", got)
	}
	protocol.AddPendingForTest(c.c, n.g, madeUp("x1"), madeUp("x2"))
	if got := syncs(3); got != 1 {
		t.Fatalf("two made-up parents, 3 Syncs: %d fetches of the window, want 1", got)
	}
	protocol.AddPendingForTest(c.c, n.g, madeUp("x3"))
	if got := syncs(2); got != 0 {
		t.Fatalf("a new made-up parent within MissingParentFetchEvery: %d fetches of the window, want 0", got)
	}
	n.skew.Add(int64(protocol.MissingParentFetchEvery + time.Minute))
	if got := syncs(3); got != 1 {
		t.Fatalf("the new made-up parent after MissingParentFetchEvery, 3 Syncs: %d fetches of the window, want 1", got)
	}
	n.skew.Add(int64(protocol.MissingParentFetchEvery + time.Minute))
	if got := syncs(2); got != 0 {
		t.Fatalf("no new made-up parent: %d fetches of the window, want 0", got)
	}
}
