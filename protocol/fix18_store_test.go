package protocol_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestFix18LiveBatchStoreErrorRefetched: a live burst goes into one batch; the first
// envelope's transaction fails at the store (its savepoint cannot begin). That envelope
// must not get a replay marker: the batch fails (nothing of it is kept, a catch-up of its
// topics is asked) and a Sync reads all three.
//
// Asserted: after the burst and one Sync, rx has read each of the 3 messages once.
func TestFix18LiveBatchStoreErrorRefetched(t *testing.T) {
	tn, a, rx, g := rxScene(t, 1881, "burst")
	ctx := context.Background()
	info, err := a.c.Group(ctx, g)
	must(t, err)
	gtap := newTapTB(t, tn.net, info.Topic)
	rx.pause()
	texts := sendThree(t, a, g)
	tn.waitFor("a's 3 messages tapped", func() bool { return len(gtap.all()) >= 3 })
	envs := gtap.all()
	failNext := protocol.FailNextBatchTxsForTest(rx.c)
	failNext(1) // the first envelope's transaction in the live batch
	protocol.ReceiveLiveForTest(rx.c, envs[len(envs)-3:])
	live := rx.texts(g)
	if err := rx.c.Sync(ctx); err != nil {
		t.Errorf("Sync: %v", err)
	}
	got := rx.texts(g)
	t.Logf("live batch with its first transaction failing at the store: %v; after a Sync: %v", live, got)
	for _, s := range texts {
		if got[s] != 1 {
			t.Errorf("%q read %d times after the live batch (one transaction failed at the store) and a Sync, want 1", s, got[s])
		}
	}
}

// TestFix18ReloadFailsLongerStaysStale: a batch commit fails and the store stays down for
// longer than the reload's own retries. The caches must not be left empty: a Sync while the
// store is down fails, and once it works again a Sync reloads the caches first and reads
// what the failed batch lost.
//
// Asserted: the Sync while the store is down returns an error; after it is back, 2 Syncs
// read the 3 messages.
func TestFix18ReloadFailsLongerStaysStale(t *testing.T) {
	_, a, rx, g := rxScene(t, 1882, "stale")
	ctx := context.Background()
	rx.pause()
	texts := sendThree(t, a, g)
	var fail, down atomic.Bool
	protocol.FailBatchCommitThenStoreForTest(rx.c, &fail, &down)
	fail.Store(true)
	err := rx.c.Sync(ctx)
	fail.Store(false)
	t.Logf("the Sync whose batch commit failed (the store down from then on): %v", err)
	if !down.Load() {
		t.Fatal("the batch commit did not fail")
	}
	if err := rx.c.Sync(ctx); err == nil {
		t.Error("a Sync with the store down returned nil")
	} else {
		t.Logf("Sync with the store down: %v", err)
	}
	down.Store(false)
	for i := range 2 {
		err := rx.c.Sync(ctx)
		t.Logf("Sync %d, the store working again: %v; rx's texts: %v", i+1, err, rx.texts(g))
	}
	got := rx.texts(g)
	for _, s := range texts {
		if got[s] != 1 {
			t.Errorf("%q read %d times after a failed batch (the store down past the reload's retries) and 2 Syncs, want 1", s, got[s])
		}
	}
}

// TestFix18LiveStoreErrorAsksCatchUp: a live envelope whose transaction fails at the store
// gets no replay marker, and its topic's catch-up is asked for (Run's subscription loop
// fetches it again; no periodic Sync needed).
//
// Asserted: the catch-up of the group topic is asked; the envelope given again is read.
func TestFix18LiveStoreErrorAsksCatchUp(t *testing.T) {
	tn, a, rx, g := rxScene(t, 1884, "ask")
	info, envs := tapHit(t, tn, a, rx, g)
	failNext := protocol.FailNextTxsForTest(rx.c)
	failNext(1)
	protocol.ReceiveLiveForTest(rx.c, envs[len(envs)-1:])
	if !protocol.CatchUpAskedForTest(rx.c, info.Topic) {
		t.Error("a live envelope failed at the store: no catch-up of its topic asked")
	}
	protocol.ReceiveLiveForTest(rx.c, envs[len(envs)-1:])
	if got := rx.texts(g)["hit"]; got != 1 {
		t.Errorf("the envelope given again after its transaction failed at the store: read %d times, want 1", got)
	}
}

// TestFix18SyncBatchStoreErrorFailsSync: a Sync batch one of whose transactions fails at
// the store fails as a whole (rolled back, the Sync's error says so, no progress kept past
// it), and the next Sync reads what it held.
//
// Asserted: the first Sync returns an error; after the next, the 3 messages are read once.
func TestFix18SyncBatchStoreErrorFailsSync(t *testing.T) {
	_, a, rx, g := rxScene(t, 1885, "syncfail")
	ctx := context.Background()
	rx.pause()
	texts := sendThree(t, a, g)
	failNext := protocol.FailNextBatchTxsForTest(rx.c)
	failNext(1)
	err := rx.c.Sync(ctx)
	t.Logf("the Sync whose batch had a transaction failing at the store: %v; rx's texts: %v", err, rx.texts(g))
	if err == nil {
		t.Error("a Sync whose batch had a transaction failing at the store returned nil")
	}
	if err := rx.c.Sync(ctx); err != nil {
		t.Errorf("the next Sync: %v", err)
	}
	got := rx.texts(g)
	for _, s := range texts {
		if got[s] != 1 {
			t.Errorf("%q read %d times after the failed Sync and one more, want 1", s, got[s])
		}
	}
}
