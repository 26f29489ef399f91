package protocol

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// TestReview21PanicAfterCommitStrandsOutbox: 898e186 and 8ac981d let a panic past runTx's
// recover (an after-commit action) come out of tx with the locks released and the caches
// marked stale, "a caller that recovers it (the C bindings do) has a client that goes on"
// (spec: protocol, "Delivery"). But what the committed transaction queued to publish is
// claimed by its after-commit action (queueRecord: c.claim, in memory, not a cache a
// reload rebuilds) for tx to publish once the locks are released, and tx never gets there:
// the claim is never released, and the retry loop's attempt, finding the record claimed,
// skips it — the message stays unpublished (StatusUnpublished, no error to anyone) until
// the process restarts.
//
// Scene: a client queues a publish in a transaction (as Send does: the record in t.sends)
// whose next after-commit action panics ("panic"; control "no panic": the same
// transaction, its publish failing at the transport, left to the retry loop); the caller
// recovers; the retry loop runs past the record's next attempt. Asserted: the record is
// published (the topic's subscriber receives it; the outbox holds no due record).
//
// Measured on main d0ae2c5: "panic" fails (the record still in the outbox, never
// published after 5 retry runs, its id still in c.inflight), 4 of 4 runs; "no panic"
// passes (published by the retry loop), 4 of 4.
func TestReview21PanicAfterCommitStrandsOutbox(t *testing.T) {
	for _, mode := range []string{"no panic", "panic"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			const topic = "/chorus/1/review21-panic/proto"
			c, got := panicScene(t, 2106, topic)
			fail := &failPublish{Transport: c.tr}
			if mode == "no panic" {
				fail.on.Store(true) // the first publish fails: the retry loop's turn
			}
			c.tr = fail
			r := func() (r any) {
				defer func() { r = recover() }()
				_ = c.tx(ctx, func(t *txn) error {
					o, err := t.queue(topic, []byte("review21: a publish"), nil)
					if err != nil {
						return err
					}
					t.sends = append(t.sends, o)
					if mode == "panic" {
						t.onCommit(func() { panic("test: a bug in an after-commit action") })
					}
					return nil
				})
				return nil
			}()
			t.Logf("%s: recovered %v", mode, r)
			fail.on.Store(false)
			retriedPublished(t, c, got, mode)
		})
	}
}

// failPublish is a Transport whose publishes fail while on is set.
type failPublish struct {
	Transport
	on atomic.Bool
}

func (f *failPublish) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	if f.on.Load() {
		return [32]byte{}, errors.New("test: publish failed")
	}
	return f.Transport.Publish(ctx, topic, payload)
}
