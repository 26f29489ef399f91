package protocol_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestReview18ReloadStoreErrorEmptiesClient: after a failed batch commit the engine empties
// its caches and refills them from the store (reloadHeld). Review 16 made the refill ignore
// the caller's context; a store error in it is not retried: a commit that failed at the
// disk is likely followed by a read failing there a moment longer, and the client is left
// with empty caches (no group, no session hint; had loadTx itself failed part-way, no
// account either) until a restart: Syncs ask no group topic and succeed, every live group
// envelope is junk. Here the batch commit of rx's Sync fails and the one transaction after
// it (the refill's) fails too; then the store works again and rx Syncs 3 times.
//
// Asserted: rx reads the 3 messages.
func TestReview18ReloadStoreErrorEmptiesClient(t *testing.T) {
	_, a, rx, g := rxScene(t, 1806, "reload")
	ctx := context.Background()
	rx.pause()
	texts := sendThree(t, a, g)
	var fail atomic.Bool
	protocol.FailBatchCommitAndNextTxForTest(rx.c, &fail)
	fail.Store(true)
	err := rx.c.Sync(ctx)
	fail.Store(false)
	t.Logf("the Sync whose batch commit failed (and the transaction after it): %v", err)
	for i := range 3 {
		err := rx.c.Sync(ctx)
		t.Logf("Sync %d, the store working again: %v; rx's texts: %v", i+1, err, rx.texts(g))
	}
	got := rx.texts(g)
	for _, s := range texts {
		if got[s] != 1 {
			t.Errorf("%q read %d times after a failed batch (its reload failed once) and 3 more Syncs, want 1", s, got[s])
		}
	}
}

// TestReview18TransientStoreErrorSkipsMessage: settleInbound gives every envelope whose
// attempt failed with an error it does not list a replay marker — "anything that fails
// after a key opened it" — and so a transaction that failed at the store (a disk error, a
// full disk refusing the message's rows but not the marker's) is taken for a bad
// message: the honest message is skipped for good, here and after every Sync (the same
// rule panic containment relies on for ErrInternal). Here rx's transaction of a's message
// fails once at the store; the marker's transaction, right after it, works.
//
// Asserted: after rx Syncs, it has read the message.
func TestReview18TransientStoreErrorSkipsMessage(t *testing.T) {
	tn, a, rx, g := rxScene(t, 1807, "transient")
	ctx := context.Background()
	_, envs := tapHit(t, tn, a, rx, g)
	failNext := protocol.FailNextTxsForTest(rx.c)
	failNext(1) // the message's transaction
	protocol.ReceiveLiveForTest(rx.c, envs[len(envs)-1:])
	after := rx.texts(g)["hit"]
	for range 2 {
		if err := rx.c.Sync(ctx); err != nil {
			t.Errorf("Sync: %v", err)
		}
	}
	got := rx.texts(g)
	t.Logf("rx read %q %d times after the failed attempt, %d times after 2 Syncs", "hit", after, got["hit"])
	if got["hit"] != 1 {
		t.Errorf("a's message read %d times after its transaction failed once at the store and 2 Syncs, want 1: the failure got it a replay marker", got["hit"])
	}
}
