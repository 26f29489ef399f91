package protocol

import (
	"context"
	"github.com/chorus-im/chorus/protocol/storage"
)

// batchState collects what the transactions of an open batch defer to its commit.
type batchState struct {
	// failed: a transaction of the batch failed at the store (storeFailed); the batch is
	// rolled back, and no transaction runs in it any more (ready).
	failed        error
	sends         []*storage.OutboxRecord
	events        []Event
	outbox        bool
	topicsChanged bool
	// heals: the heal checks the batch's transactions named, run after its commit, each
	// in its own transaction (healAfter); dropped with a batch that fails.
	heals healQueue
}

type batchKey struct{}

// batchOf returns the batch ctx runs in, or nil.
func batchOf(ctx context.Context) *batchState {
	b, _ := ctx.Value(batchKey{}).(*batchState)
	return b
}

// enter takes the batch lock unless ctx runs inside the batch that holds it; the
// returned function releases what it took. Every transaction entry point (tx,
// txInbound) calls it before c.mu, so nothing else touches the store while a batch is
// open.
func (c *Client) enter(ctx context.Context) func() {
	if batchOf(ctx) != nil {
		return func() {}
	}
	c.batchMu.Lock()
	if c.unlockBatch == nil {
		c.unlockBatch = c.batchMu.Unlock // bound once: no allocation per transaction
	}
	return c.unlockBatch
}

// batch runs fn with the store transactions it makes (with the context it is given)
// grouped into one commit, when the store can (BatchStore): each still commits or rolls
// back on its own as a nested transaction, and the in-memory caches follow each one as
// before, but publishes, events and wake-ups wait for the batch's commit, so nothing
// leaves the process before what caused it is stored. If the commit fails, every
// transaction of the batch is lost together (as a crash would lose them: the envelopes
// come again with the next Sync, their replay markers being lost too) and the caches are
// rebuilt from the store.
func (c *Client) batch(ctx context.Context, fn func(ctx context.Context)) error {
	bs, ok := c.store.(storage.BatchStore)
	if !ok || batchOf(ctx) != nil {
		fn(ctx)
		return nil
	}
	if c.isClosed() {
		return ErrClosed
	}
	b := &batchState{}
	if err := c.runBatch(ctx, bs, b, fn); err != nil {
		for _, o := range b.sends {
			c.release(o.ID)
		}
		return err
	}
	if len(b.events) > 0 {
		c.events.emit(b.events...)
	}
	if b.outbox {
		wake(c.outWake)
	}
	if b.topicsChanged {
		wake(c.subsWake)
	}
	if len(b.sends) > 0 {
		c.publishIDs(ctx, b.sends)
	}
	if sends := c.healBatch(ctx, b.heals); len(sends) > 0 {
		c.publishIDs(ctx, sends)
	}
	return nil
}

// runBatch is batch's part under the batch lock, released by a deferred call on every
// path, as c.mu is around each call of the store (lockedEnd): a panic in fn (or past
// anything's recover) goes on to the caller with no lock held, once the batch is rolled
// back and the caches rebuilt (review 18, TestReview18PanicPastRecoverInBatchFreezes).
// What went wrong is logged once the batch lock is released.
func (c *Client) runBatch(ctx context.Context, bs storage.BatchStore, b *batchState, fn func(ctx context.Context)) (err error) {
	ended := false
	var failed, lerr error // the batch's error, the reload's
	defer func() {
		switch {
		case !ended:
			if lerr != nil {
				c.log.Error("reload after a batch that panicked", "err", lerr)
			}
		case failed != nil:
			if b.failed != nil {
				c.log.Error("batch failed at the store: rolled back, caches reloaded", "err", failed)
			} else {
				c.log.Error("batch commit failed: caches reloaded", "err", failed)
			}
			if lerr != nil {
				c.log.Error("reload after a failed batch", "err", lerr)
			}
		}
	}()
	c.batchMu.Lock()
	defer c.batchMu.Unlock()
	if err := c.ready(ctx); err != nil {
		ended = true
		return err
	}
	bctx, err := c.lockedBegin(ctx, bs)
	if err != nil {
		ended = true
		return err
	}
	defer func() {
		if ended {
			return
		}
		// fn panicked (or the commit did).
		_ = c.lockedEnd(bs, false)
		for _, o := range b.sends {
			c.release(o.ID)
		}
		// The caches followed the batch's transactions, the store did not: rebuilt
		// before the panic goes on, for a caller that recovers it (review 15,
		// TestReview15PanicInBatch: a receiving chain left ahead of the store, its
		// message never read), and before the batch lock is released (review 16).
		lerr = c.reloadHeld(ctx)
	}()
	fn(context.WithValue(bctx, batchKey{}, b))
	if b.failed != nil {
		// A transaction failed at the store: its envelope has no replay marker and must
		// come again, so nothing of the batch is kept (as after a failed commit).
		_ = c.lockedEnd(bs, false)
		failed = b.failed
	} else {
		// Committed but not durable yet, the batch stands (its events go out) and its
		// publishes wait for a durable commit (durableLater; review 21,
		// TestReview21BatchSyncFailureLosesEvents: taken for a failed commit, its events
		// were dropped and its envelopes, marked, never read again).
		if failed = c.lockedEnd(bs, true); failed == nil {
			c.notDurable.Store(false)
		} else {
			failed = c.durableLater(failed)
		}
	}
	ended = true
	if failed != nil {
		// Rebuilt before the batch lock is released: a transaction let in between ran on
		// caches ahead of the store (review 16, TestReview16ReloadWindow: a receiving chain
		// advanced past a message of the failed batch and stored so; that message, fetched
		// again, never opened).
		lerr = c.reloadHeld(ctx)
	}
	return failed
}

// lockedBegin is bs.BeginBatch under c.mu.
func (c *Client) lockedBegin(ctx context.Context, bs storage.BatchStore) (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bs.BeginBatch(ctx)
}

// lockedEnd is bs.EndBatch under c.mu.
func (c *Client) lockedEnd(bs storage.BatchStore, commit bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bs.EndBatch(commit)
}

// publishQueued publishes what a committed transaction queued on its own, or, inside a
// batch, leaves it to the batch's commit.
func (c *Client) publishQueued(ctx context.Context, sends []*storage.OutboxRecord) {
	if len(sends) == 0 {
		return
	}
	if b := batchOf(ctx); b != nil {
		b.sends = append(b.sends, sends...)
		return
	}
	c.publishIDs(ctx, sends)
}
