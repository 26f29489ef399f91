package protocol

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
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
			const topic = "/chorus/1/review22-panic/proto"
			c, got := panicScene(t, 2208, topic)
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
			retriedPublished(t, c, got, mode)
		})
	}
}
