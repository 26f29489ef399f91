package protocol

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview18PanicPastRecoverInBatchFreezes: panic containment recovers a panic inside a
// transaction's work (runTx, in WithTx); the batch's deferred handler (batch.go) is there
// for a panic that gets past it, "for a caller that recovers it" (review 15). But most of
// the engine past runTx's recover runs with c.mu held — the after-commit actions (runTx),
// settleInbound and the junk filter (txInbound), the recover's own logging — and neither
// tx nor txInbound releases c.mu on a panic; the batch's handler then takes c.mu itself to
// end the batch: the goroutine blocks for good in its deferred function with the batch
// lock and c.mu held, so the panic never reaches the top (the process neither crashes nor
// goes on) and every later call of the client waits for ever. Here an after-commit action
// of a transaction in a batch panics.
//
// Asserted: the panic comes back out of the batch within 2 s (as without a batch: tx
// panics through), and the client's lock is free afterwards.
func TestReview18PanicPastRecoverInBatchFreezes(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	net := memory.NewNetwork(memory.Config{Seed: 1805})
	defer net.Close()
	c, err := New(ctx, st, net.Join("c"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan any, 1)
	go func() {
		defer func() { out <- recover() }()
		_ = c.batch(ctx, func(ctx context.Context) {
			_ = c.tx(ctx, func(t *txn) error {
				t.onCommit(func() { panic("test: a bug past the transaction's recover") })
				return nil
			})
		})
	}()
	select {
	case r := <-out:
		t.Logf("the batch panicked through: %v", r)
	case <-time.After(2 * time.Second):
		t.Fatal("a panic past runTx's recover inside a batch: the batch's deferred handler still blocked after 2 s (c.mu held by the panicking tx, taken again to end the batch): the client is frozen, the panic never reaches the top")
	}
	locked := make(chan struct{})
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		close(locked)
	}()
	select {
	case <-locked:
	case <-time.After(time.Second):
		t.Fatal("after the panic came back out of the batch, c.mu is still held: every later call waits for ever")
	}
}
