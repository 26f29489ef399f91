package protocol

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport"
)

// ReceiveLiveForTest hands envs to the receive loop's step as queued behind one another
// (receiveLive: the first, and the rest in one batch with it when there is more than
// one), as Run's receive loop does with a burst on the live subscription.
func ReceiveLiveForTest(c *Client, envs []transport.Envelope) {
	if len(envs) == 0 {
		return
	}
	in := make(chan *transport.Envelope, len(envs))
	for i := 1; i < len(envs); i++ {
		in <- &envs[i]
	}
	c.receiveLive(context.Background(), &envs[0], in, nil)
}

// failingBatchStore is a BatchStore whose batch commits fail while fail is set (the
// batch is rolled back, as a commit failing at the disk).
type failingBatchStore struct {
	storage.BatchStore
	fail *atomic.Bool
}

func (f *failingBatchStore) EndBatch(commit bool) error {
	if commit && f.fail.Load() {
		_ = f.BatchStore.EndBatch(false)
		return errors.New("test: batch commit failed")
	}
	return f.BatchStore.EndBatch(commit)
}

// FailBatchCommitsForTest makes c's batch commits fail while fail is set. Call it while
// c does not run.
func FailBatchCommitsForTest(c *Client, fail *atomic.Bool) {
	c.batchMu.Lock()
	c.mu.Lock()
	c.store = &failingBatchStore{BatchStore: c.store.(storage.BatchStore), fail: fail}
	c.mu.Unlock()
	c.batchMu.Unlock()
}
