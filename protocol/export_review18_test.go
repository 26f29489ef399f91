package protocol

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/chorus-im/chorus/protocol/storage"
)

// faultWindowStore is a BatchStore whose batch commits fail while fail is set, and whose
// next transaction after a failed commit fails too (readsAfter of them): the disk error
// lasting a moment past the commit.
type faultWindowStore struct {
	storage.BatchStore
	fail       *atomic.Bool
	readsAfter atomic.Int64
}

func (f *faultWindowStore) EndBatch(commit bool) error {
	if commit && f.fail != nil && f.fail.Load() {
		_ = f.BatchStore.EndBatch(false)
		f.readsAfter.Store(1)
		return errors.New("test: batch commit failed")
	}
	return f.BatchStore.EndBatch(commit)
}

func (f *faultWindowStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	if f.readsAfter.Add(-1) >= 0 {
		return errors.New("test: disk error (still)")
	}
	return f.BatchStore.WithTx(ctx, fn)
}

// FailBatchCommitAndNextTxForTest makes c's batch commits fail while fail is set, each
// failed commit failing the transaction after it too. Call it while c does not run.
func FailBatchCommitAndNextTxForTest(c *Client, fail *atomic.Bool) {
	c.batchMu.Lock()
	c.mu.Lock()
	c.store = &faultWindowStore{BatchStore: c.store.(storage.BatchStore), fail: fail}
	c.mu.Unlock()
	c.batchMu.Unlock()
}

// FailNextTxsForTest wraps c's store so that the returned function makes its next n
// transactions fail (a transient store error). Call it while c does not run.
func FailNextTxsForTest(c *Client) func(n int) {
	c.batchMu.Lock()
	c.mu.Lock()
	f := &faultWindowStore{BatchStore: c.store.(storage.BatchStore)}
	c.store = f
	c.mu.Unlock()
	c.batchMu.Unlock()
	return func(n int) { f.readsAfter.Store(int64(n)) }
}
