package protocol

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reloading the caches. After a failed batch commit (or a panic inside a batch, or a
// transaction's ErrInternal) the in-memory caches may be ahead of the store; they are
// rebuilt from it before any other transaction runs. A rebuild that fails (the store
// failing a moment past the commit that failed) is tried again at once with a short
// back-off (reloadWaits); if it still fails, the caches are left as they were (never
// empty: a client with no group in memory asked no group topic in any Sync until a restart,
// review 18, TestReview18ReloadStoreErrorEmptiesClient) and marked stale, and every
// transaction, batch and inbound attempt first rebuilds them again (ready), failing with
// the store's error while it cannot: no transaction runs on caches that disagree with the
// store (spec: protocol, "Delivery").

// errStore: the store failed a transaction at its begin or commit (a disk error, a full
// disk), not the transaction's work: an inbound envelope so failed gets no replay marker
// and is fetched again (settleInbound). Internal: callers see it wrapping the store's error.
var errStore = errors.New("protocol: store failure")

// storeFailed wraps err, the store's failure of a transaction (ran: its work ran, the
// commit failed), as errStore. Inside a batch the batch fails with it (runBatch rolls it
// back and rebuilds the caches); outside, a failed commit leaves the caches stale (its
// rollbacks ran, but whether the store kept it is not known: its durability sync may be
// what failed). The caller's context ending before the store began is not the store's.
func (c *Client) storeFailed(ctx context.Context, ran bool, err error) error {
	if !ran && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	err = fmt.Errorf("%w: %w", errStore, err)
	if b := batchOf(ctx); b != nil {
		if b.failed == nil {
			b.failed = err
		}
	} else if ran {
		c.stale.Store(true)
	}
	return err
}

// reloadWaits are the pauses before each try of a reload (the first at once).
var reloadWaits = [...]time.Duration{0, 10 * time.Millisecond, 50 * time.Millisecond}

// caches is what a reload rebuilds: every cache of the store's contents that loadTx fills.
type caches struct {
	acct            *account
	link            *pendingLink
	linkTopic       string
	linkUntil       time.Time
	hints           map[[16]byte]int64
	inbox           inboxHints
	groups          map[GroupID]*groupCache
	topics          map[string][]GroupID
	resumed         map[GroupID]bool
	resumedSessions map[int64]bool
	resumedEpochs   map[[32]byte]GroupID
	hot             hotPath
	spks            spkCache
	senderEpochs    map[GroupID][][32]byte
}

// takeCaches returns the caches and leaves empty ones in their place (c.mu held).
func (c *Client) takeCaches() caches {
	old := caches{
		acct: c.acct, link: c.link, linkTopic: c.linkTopic, linkUntil: c.linkUntil,
		hints: c.hints, inbox: c.inbox, groups: c.groups, topics: c.topics,
		resumed: c.resumed, resumedSessions: c.resumedSessions, resumedEpochs: c.resumedEpochs,
		hot: c.hot, spks: c.spks, senderEpochs: c.senderEpochs,
	}
	c.hints = map[[16]byte]int64{}
	c.inbox = newInboxHints()
	c.groups = map[GroupID]*groupCache{}
	c.topics = map[string][]GroupID{}
	c.resumed = map[GroupID]bool{}
	c.resumedSessions = map[int64]bool{}
	c.resumedEpochs = map[[32]byte]GroupID{}
	c.hot = hotPath{}
	c.spks = spkCache{}
	// Not known any more: the next retirement deletes our sending chains in both tables
	// (reviews 14 and 15, TestSenderEpochsAfterFailedBatch,
	// TestReview15FailedBatchKeepsRetiredSenderChain: a failed batch's nested commit had
	// dropped a retired epoch from it, so applied again it was not deleted).
	c.senderEpochs = nil
	return old
}

// putCaches puts back caches taken by takeCaches (c.mu held).
func (c *Client) putCaches(old caches) {
	c.acct, c.link, c.linkTopic, c.linkUntil = old.acct, old.link, old.linkTopic, old.linkUntil
	c.hints, c.inbox, c.groups, c.topics = old.hints, old.inbox, old.groups, old.topics
	c.resumed, c.resumedSessions, c.resumedEpochs = old.resumed, old.resumedSessions, old.resumedEpochs
	c.hot, c.spks, c.senderEpochs = old.hot, old.spks, old.senderEpochs
}

// reload rebuilds the caches from the store (after a failed batch commit left them ahead
// of it). Sender and session leases are checked again before the next seal. The caches
// are rebuilt under the engine's locks held throughout: no transaction runs in between
// (review 15: the live loop took a burst's envelopes for input no key opens there and put
// them in the junk filter, so the next Sync skipped them). Called without c.mu.
func (c *Client) reload(ctx context.Context) error {
	leave := c.enter(ctx)
	defer leave()
	return c.reloadHeld(ctx)
}

// reloadHeld is reload for a caller that holds the batch lock (or runs inside a batch).
// The store is read whatever ctx's deadline: caches left behind the store's would be used
// until a restart (review 16, TestReview16ReloadCancelledContext). A failed try is tried
// again after reloadWaits; after the last, the caches stay as they were, marked stale.
func (c *Client) reloadHeld(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	for _, wait := range reloadWaits {
		if wait > 0 && !c.pause(wait) {
			break
		}
		if err = c.reloadOnce(ctx); err == nil || !errors.Is(err, errStore) {
			return err // a load failing of itself (a stored record unreadable, a panic) fails again
		}
	}
	return err // the caller logs it, without the engine's locks (a logger may run a transaction)
}

// reloadOnce is one try of reloadHeld: the old caches are put back if the load fails, and
// stay marked stale.
func (c *Client) reloadOnce(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stale.Store(true) // until the load is in (a panic past runTx's recover leaves it so)
	old := c.takeCaches()
	// What the junk filter holds was judged keyless against the caches being dropped.
	c.junk.reset()
	if _, err := c.runTx(ctx, c.loadTx); err != nil {
		c.putCaches(old)
		return err
	}
	c.stale.Store(false)
	return nil
}

// ready rebuilds the caches if they are stale, before a transaction (or a batch) uses
// them: one try (the callers' own retries space them: a Sync's, the subscription loop's
// catch-up back-off), whose error is the transaction's, as a store failure (an inbound
// envelope gets no marker for it). Inside a batch that failed at the store, it returns
// the batch's error: nothing more runs in it. Called with the batch's turn, without c.mu.
func (c *Client) ready(ctx context.Context) error {
	if b := batchOf(ctx); b != nil && b.failed != nil {
		return b.failed
	}
	if !c.stale.Load() {
		return nil
	}
	err := c.reloadOnce(context.WithoutCancel(ctx))
	if err != nil && !errors.Is(err, errStore) {
		err = fmt.Errorf("%w: caches not rebuilt: %w", errStore, err)
	}
	return err
}

// pause waits d, or less if the client closes (false).
func (c *Client) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.closed:
		return false
	}
}
