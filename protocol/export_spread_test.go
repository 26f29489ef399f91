package protocol

import (
	"context"
	"time"
)

// WaitingRecord is an unpublished outbox record as tests see it.
type WaitingRecord struct {
	Topic       string
	NextAttempt time.Time
	HasMessage  bool
}

// Waiting returns c's unpublished outbox records (parked ones excluded), in due order.
func Waiting(c *Client) []WaitingRecord {
	var out []WaitingRecord
	_ = c.tx(context.Background(), func(t *txn) error { // under the engine's locks (batches)
		recs, err := t.DueOutbox(parkedAt.Add(-time.Nanosecond), 1<<20)
		for _, r := range recs {
			out = append(out, WaitingRecord{Topic: r.Topic, NextAttempt: r.NextAttempt, HasMessage: r.HasMessage})
		}
		return err
	})
	return out
}
