package protocol

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/chorus-im/chorus/protocol/storage"
)

// outboxFaultStore is a BatchStore whose transactions' PutOutbox calls fail while failing
// is set (a full disk met by the write of a heal's key block), counting the failed calls.
type outboxFaultStore struct {
	storage.BatchStore
	failing atomic.Bool
	failed  atomic.Int64
	plain   atomic.Bool // fail with a plain error (the transaction's own), not the store's
}

func (f *outboxFaultStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	return f.BatchStore.WithTx(ctx, func(st storage.StoreTx) error {
		return fn(&outboxFaultTx{StoreTx: st, f: f})
	})
}

type outboxFaultTx struct {
	storage.StoreTx
	f *outboxFaultStore
}

func (x *outboxFaultTx) PutOutbox(r *storage.OutboxRecord) error {
	if x.f.failing.Load() {
		x.f.failed.Add(1)
		if x.f.plain.Load() {
			return errors.New("test: outbox record refused")
		}
		return fmt.Errorf("%w: test: database or disk is full (writing an outbox record)", storage.ErrUnavailable)
	}
	return x.StoreTx.PutOutbox(r)
}

// FailOutboxWritesForTest wraps c's store so that, while set(true), every PutOutbox fails
// inside its transaction (plain: with an error of the transaction's own, else as the
// store failing, storage.ErrUnavailable); failed counts those failures. The wrapper passes everything
// through until then.
func FailOutboxWritesForTest(c *Client, plain bool) (set func(bool), failed func() int64) {
	c.batchMu.Lock()
	c.mu.Lock()
	f := &outboxFaultStore{BatchStore: c.store.(storage.BatchStore)}
	f.plain.Store(plain)
	c.store = f
	c.mu.Unlock()
	c.batchMu.Unlock()
	return f.failing.Store, f.failed.Load
}
