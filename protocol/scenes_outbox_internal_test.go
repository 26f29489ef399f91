package protocol

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/transport/memory"
)

// Scenes shared by the internal tests of a panic after commit (review 21, review 22).

// panicScene returns a client with an account (in-memory store, on a memory network of
// the given seed, retry backoff 10 ms) and a count of the publishes a listener receives on
// topic. Everything is closed when the test ends.
func panicScene(t *testing.T, seed int64, topic string) (c *Client, got *atomic.Int64) {
	t.Helper()
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	net := memory.NewNetwork(memory.Config{Seed: seed})
	t.Cleanup(func() { net.Close() })
	c, err = New(ctx, st, net.Join("c"), WithRetryBackoff(10*time.Millisecond), WithBurstSpread(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.CreateAccount(ctx); err != nil {
		t.Fatal(err)
	}
	sub, err := net.Join("listener").Subscribe(ctx, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	got = new(atomic.Int64)
	go func() {
		for range sub {
			got.Add(1)
		}
	}()
	return c, got
}

// retriedPublished runs c's retry loop 5 times past the record's next attempt, then
// asserts the committed transaction's publish was received (got) and left the outbox.
func retriedPublished(t *testing.T, c *Client, got *atomic.Int64, mode string) {
	t.Helper()
	ctx := context.Background()
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		c.retryDue(ctx)
	}
	time.Sleep(50 * time.Millisecond)
	var left int
	_ = c.tx(ctx, func(t *txn) error {
		due, err := t.DueOutbox(c.now().Add(time.Hour), 10)
		left = len(due)
		return err
	})
	c.inflightMu.Lock()
	claimed := len(c.inflight)
	c.inflightMu.Unlock()
	t.Logf("%s: published %d, outbox records left %d, claimed %d", mode, got.Load(), left, claimed)
	if got.Load() == 0 || left != 0 {
		t.Errorf("%s: the committed transaction's publish: %d received, %d left in the outbox after 5 retry runs (its claim never released)", mode, got.Load(), left)
	}
}
