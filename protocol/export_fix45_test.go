package protocol

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/chorus-im/chorus/protocol/storage"
)

// logFaultStore is a BatchStore whose transactions' group log writes (AppendGroupLog,
// PutGroup: storeLog's, after the group record's bookkeeping was computed and, on the
// append path, written by PutGroupExceptLog) fail while fail is set.
type logFaultStore struct {
	storage.BatchStore
	fail   atomic.Bool
	failed atomic.Int64
}

func (f *logFaultStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	return f.BatchStore.WithTx(ctx, func(st storage.StoreTx) error {
		return fn(&logFaultTx{StoreTx: st, f: f})
	})
}

type logFaultTx struct {
	storage.StoreTx
	f *logFaultStore
}

func (x *logFaultTx) AppendGroupLog(id storage.GroupID, tail []byte) error {
	if x.f.fail.Load() {
		x.f.failed.Add(1)
		return fmt.Errorf("%w: test: disk full (appending the group log)", storage.ErrUnavailable)
	}
	return x.StoreTx.AppendGroupLog(id, tail)
}

func (x *logFaultTx) PutGroup(g *storage.GroupRecord) error {
	if x.f.fail.Load() {
		x.f.failed.Add(1)
		return fmt.Errorf("%w: test: disk full (writing the group)", storage.ErrUnavailable)
	}
	return x.StoreTx.PutGroup(g)
}

// FailGroupLogWritesForTest wraps c's store so that, while set(true), every group log
// write inside a transaction fails (the transaction rolls back); failed counts them. Call
// it while c does not run.
func FailGroupLogWritesForTest(c *Client) (set func(bool), failed func() int64) {
	c.batchMu.Lock()
	c.mu.Lock()
	f := &logFaultStore{BatchStore: c.store.(storage.BatchStore)}
	c.store = f
	c.mu.Unlock()
	c.batchMu.Unlock()
	return f.fail.Store, f.failed.Load
}
