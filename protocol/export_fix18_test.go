package protocol

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/chorus-im/chorus/protocol/storage"
)

// batchTxFaultStore fails the next n transactions begun inside a batch (a savepoint the
// store cannot begin: a disk error); the transactions outside a batch work.
type batchTxFaultStore struct {
	storage.BatchStore
	n atomic.Int64
}

func (f *batchTxFaultStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	if batchOf(ctx) != nil && f.n.Add(-1) >= 0 {
		return errors.New("test: disk error in a batch")
	}
	return f.BatchStore.WithTx(ctx, fn)
}

// FailNextBatchTxsForTest wraps c's store so that the returned function makes its next n
// transactions inside a batch fail at the store. Call it while c does not run.
func FailNextBatchTxsForTest(c *Client) func(n int) {
	c.batchMu.Lock()
	c.mu.Lock()
	f := &batchTxFaultStore{BatchStore: c.store.(storage.BatchStore)}
	c.store = f
	c.mu.Unlock()
	c.batchMu.Unlock()
	return func(n int) { f.n.Store(int64(n)) }
}

// downAfterCommitStore fails a batch commit while fail is set, and from then on every
// transaction while down is set (the disk gone for longer than the reload's retries).
type downAfterCommitStore struct {
	storage.BatchStore
	fail, down *atomic.Bool
}

func (f *downAfterCommitStore) EndBatch(commit bool) error {
	if commit && f.fail.Load() {
		_ = f.BatchStore.EndBatch(false)
		f.down.Store(true)
		return errors.New("test: batch commit failed")
	}
	return f.BatchStore.EndBatch(commit)
}

func (f *downAfterCommitStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	if f.down.Load() {
		return errors.New("test: disk error (down)")
	}
	return f.BatchStore.WithTx(ctx, fn)
}

// FailBatchCommitThenStoreForTest makes c's batch commits fail while fail is set; a failed
// commit sets down, and every transaction fails while down is set. Call it while c does
// not run.
func FailBatchCommitThenStoreForTest(c *Client, fail, down *atomic.Bool) {
	c.batchMu.Lock()
	c.mu.Lock()
	c.store = &downAfterCommitStore{BatchStore: c.store.(storage.BatchStore), fail: fail, down: down}
	c.mu.Unlock()
	c.batchMu.Unlock()
}

// CatchUpAskedForTest reports whether a catch-up of topic is asked for (askCatchUpLocked).
func CatchUpAskedForTest(c *Client, topic string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.catchUp[topic]
}
