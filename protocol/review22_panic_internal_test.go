package protocol

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview22PanicAfterCommitStrandsCallerRecord — c74afaf's runAfter releases, when an
// after-commit action panics, the claims of the records in t.sends only: those a
// transaction queued "on its own" (relays, device lists, heals). But queueRecord claims
// every record it queues at commit, and the records of the calls users make are not in
// t.sends: the caller takes them out of the transaction (Send: sealGroup's outs, published
// by publishSole/publishIDs after tx returns). A panic in an after-commit action of a
// Send's transaction still leaves the message's record claimed for good — the review 21
// hole TestReview21PanicAfterCommitStrandsOutbox measured, for the one path it modelled
// differently (its scene appends the record to t.sends, "as Send does": Send does not).
//
// Scene: TestReview21PanicAfterCommitStrandsOutbox's, the record queued as Send's is —
// returned to the caller ("returned"; control "t.sends": appended to t.sends as there) —
// then an after-commit action panics; the caller recovers; the retry loop runs 5 times
// past the record's next attempt. Asserted: the record is published and leaves the outbox.
// Measured (main f7376e8): "returned" fails (0 received, 1 left in the outbox, 1 claimed),
// 3 of 3 runs; "t.sends" passes, 3 of 3.
func TestReview22PanicAfterCommitStrandsCallerRecord(t *testing.T) {
	for _, mode := range []string{"t.sends", "returned"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			st, err := persistence.Open(":memory:")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			net := memory.NewNetwork(memory.Config{Seed: 2208})
			defer net.Close()
			c, err := New(ctx, st, net.Join("c"), WithRetryBackoff(10*time.Millisecond), WithBurstSpread(0))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.CreateAccount(ctx); err != nil {
				t.Fatal(err)
			}
			const topic = "/chorus/1/review22-panic/proto"
			sub, err := net.Join("listener").Subscribe(ctx, []string{topic})
			if err != nil {
				t.Fatal(err)
			}
			var got atomic.Int64
			go func() {
				for range sub {
					got.Add(1)
				}
			}()
			var outs []*storage.OutboxRecord // what Send keeps from its transaction
			r := func() (r any) {
				defer func() { r = recover() }()
				_ = c.tx(ctx, func(t *txn) error {
					o, err := t.queue(topic, []byte("review22: a publish"), nil)
					if err != nil {
						return err
					}
					if mode == "t.sends" {
						t.sends = append(t.sends, o)
					} else {
						outs = append(outs, o) // Send: published by the caller after tx
					}
					t.onCommit(func() { panic("test: a bug in an after-commit action") })
					return nil
				})
				c.publishIDs(ctx, outs) // not reached: the panic comes out of tx
				return nil
			}()
			t.Logf("%s: recovered %v", mode, r)
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
		})
	}
}
