package protocol

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix18PanicPastRecoverReleasesLocks: a panic past runTx's recover in a transaction
// outside a batch (an after-commit action) comes out of tx with the engine's locks
// released, and the client goes on: its next transaction runs.
//
// Asserted: the panic comes out; c.mu and the batch lock are free; the next tx returns nil.
func TestFix18PanicPastRecoverReleasesLocks(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	net := memory.NewNetwork(memory.Config{Seed: 1883})
	defer net.Close()
	c, err := New(ctx, st, net.Join("c"))
	if err != nil {
		t.Fatal(err)
	}
	r := func() (r any) {
		defer func() { r = recover() }()
		_ = c.tx(ctx, func(t *txn) error {
			t.onCommit(func() { panic("test: a bug past the transaction's recover") })
			return nil
		})
		return nil
	}()
	if r == nil {
		t.Fatal("the panic did not come out of tx")
	}
	if !c.mu.TryLock() {
		t.Fatal("c.mu still held after the panic came out of tx")
	}
	c.mu.Unlock()
	if !c.batchMu.TryLock() {
		t.Fatal("the batch lock still held after the panic came out of tx")
	}
	c.batchMu.Unlock()
	if err := c.tx(ctx, func(t *txn) error { return nil }); err != nil {
		t.Errorf("the next transaction: %v", err)
	}
}
