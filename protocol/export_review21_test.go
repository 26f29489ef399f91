package protocol

import (
	"context"
	"errors"
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
		return false, errors.New("test: database or disk is full (writing the message row)")
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

// syncFailStore is a BatchStore whose next n transactions that ask to be synced commit
// but are not synced, and WithTx fails as persistence's does when its sync fails after
// the commit (a checkpoint another connection's reader keeps from completing, an fsync
// error).
type syncFailStore struct {
	storage.BatchStore
	n      atomic.Int64
	passed atomic.Int64
}

func (f *syncFailStore) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) error {
	unsynced := false
	err := f.BatchStore.WithTx(ctx, func(st storage.StoreTx) error {
		return fn(&syncFailTx{StoreTx: st, f: f, unsynced: &unsynced})
	})
	if err == nil && unsynced {
		return errors.New("test: persistence: sync: checkpoint incomplete (3 of 5 frames)")
	}
	return err
}

type syncFailTx struct {
	storage.StoreTx
	f        *syncFailStore
	unsynced *bool
}

func (x *syncFailTx) SyncOnCommit() {
	if x.f.n.Add(-1) >= 0 {
		*x.unsynced = true // committed, not synced
		return
	}
	x.f.passed.Add(1)
	x.StoreTx.SyncOnCommit()
}

// FailNextSyncsForTest wraps c's store so that the returned function makes the next n
// transactions asking for a sync commit unsynced and fail. Call it while c does not run.
func FailNextSyncsForTest(c *Client) func(n int) {
	c.batchMu.Lock()
	c.mu.Lock()
	f := &syncFailStore{BatchStore: c.store.(storage.BatchStore)}
	c.store = f
	c.mu.Unlock()
	c.batchMu.Unlock()
	return func(n int) { f.n.Store(int64(n)) }
}

// ReportSyncsForTest logs how many synced transactions c's syncFailStore let through.
func ReportSyncsForTest(c *Client, l interface{ Logf(string, ...any) }) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.store.(*syncFailStore); ok {
		l.Logf("synced transactions let through: %d", f.passed.Load())
	}
}
