package protocol

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// writeFaultStore is a BatchStore whose transactions' next n PutMessage calls fail (a
// disk error or a full disk met by a write inside the transaction, not by its begin or
// commit: SQLITE_FULL, SQLITE_IOERR come back from the statement that needed the page).
type writeFaultStore struct {
	storage.BatchStore
	n atomic.Int64
}

func (f *writeFaultStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	return f.BatchStore.WithTx(ctx, func(st storage.StoreTx) error {
		return fn(&writeFaultTx{StoreTx: st, f: f})
	})
}

type writeFaultTx struct {
	storage.StoreTx
	f *writeFaultStore
}

func (x *writeFaultTx) PutMessage(m *storage.MessageRecord) (bool, error) {
	if x.f.n.Add(-1) >= 0 {
		// As persistence reports SQLITE_FULL (storage.ErrUnavailable: a store failing by
		// itself; persistence's TestUnavailableDiskFull meets it on a real database).
		return false, fmt.Errorf("%w: test: database or disk is full (writing the message row)", storage.ErrUnavailable)
	}
	return x.StoreTx.PutMessage(m)
}

// FailNextMessageWritesForTest wraps c's store so that the returned function makes its
// next n PutMessage calls fail inside their transaction. Call it while c does not run.
func FailNextMessageWritesForTest(c *Client) func(n int) {
	c.batchMu.Lock()
	c.mu.Lock()
	f := &writeFaultStore{BatchStore: c.store.(storage.BatchStore)}
	c.store = f
	c.mu.Unlock()
	c.batchMu.Unlock()
	return func(n int) { f.n.Store(int64(n)) }
}

// OverdueForTest returns since when c waits for the designated installation's heal of
// group g and its rank (healV2's overdue note; zero time: none).
func OverdueForTest(c *Client, g GroupID) (time.Time, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gc := c.groups[g]; gc != nil {
		return gc.overdue, gc.overdueRank
	}
	return time.Time{}, 0
}

// committedSyncFailStore is a BatchStore whose batch commits, while fail is set, go
// through and then fail as persistence's EndBatch does when the batch's durability sync
// fails after its commit (a checkpoint another connection's reader keeps from completing,
// an fsync error).
type committedSyncFailStore struct {
	storage.BatchStore
	fail *atomic.Bool
}

func (f *committedSyncFailStore) EndBatch(commit bool) error {
	err := f.BatchStore.EndBatch(commit)
	if err == nil && commit && f.fail.Load() {
		// As persistence's EndBatch says it (syncAfter): committed, not durable yet.
		return fmt.Errorf("%w: test: persistence: sync: checkpoint incomplete (7 of 9 frames)", storage.ErrNotDurable)
	}
	return err
}

// FailBatchSyncAfterCommitForTest makes c's batch commits, while fail is set, commit and
// then fail. Call it while c does not run.
func FailBatchSyncAfterCommitForTest(c *Client, fail *atomic.Bool) {
	c.batchMu.Lock()
	c.mu.Lock()
	c.store = &committedSyncFailStore{BatchStore: c.store.(storage.BatchStore), fail: fail}
	c.mu.Unlock()
	c.batchMu.Unlock()
}
