package protocol

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// Run connects the client to the network and owns every goroutine of the engine: one
// reader per subscribed topic, the processor, the publish-retry loop, periodic syncs and
// prekey maintenance. It returns when ctx ends or Close is called, after every goroutine
// it started has stopped. Only one Run may be active at a time.
func (c *Client) Run(ctx context.Context) error {
	c.runMu.Lock()
	if c.running {
		c.runMu.Unlock()
		return ErrRunning
	}
	c.running = true
	done := make(chan struct{})
	c.runDone = done
	c.runMu.Unlock()
	defer func() {
		c.runMu.Lock()
		c.running = false
		c.runMu.Unlock()
		close(done)
	}()
	if _, err := c.Account(); err != nil && !c.linkPending() {
		return err
	}
	if c.isClosed() {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-c.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	// Pointers: the queue's 256 slots cost 2 KiB per client instead of 24 KiB of
	// envelope values (issue 16, heap per installation).
	in := make(chan *transport.Envelope, 256)
	subscribed := make(chan struct{})
	wg.Add(3)
	go func() { defer wg.Done(); c.subscriptions(ctx, in, subscribed, &wg) }()
	go func() {
		defer wg.Done()
		var burst []*transport.Envelope // receiveLive's, reused
		for {
			select {
			case <-ctx.Done():
				return
			case env := <-in:
				burst = c.receiveLive(ctx, env, in, burst)
			}
		}
	}()
	go func() { defer wg.Done(); c.maintenance(ctx, subscribed, &wg) }()
	<-ctx.Done()
	wg.Wait()
	return nil
}

// receiveLive processes env, the first envelope of the live queue in, and with it, in
// one batch (batch.go: one store commit, as Sync's chunks), the envelopes already queued
// behind it, up to liveBatch in all: it does not wait for more. One envelope alone is one
// transaction, as before; a burst (a busy group, a bot in many groups, a relay handing over
// what it held) pays the commit once per batch instead of once per envelope (issue 16).
// Their events and publishes wait for the batch's commit: at most liveBatch envelopes'
// processing later than one by one. buf is reused across calls (returned emptied).
func (c *Client) receiveLive(ctx context.Context, env *transport.Envelope, in <-chan *transport.Envelope, buf []*transport.Envelope) []*transport.Envelope {
	buf = append(buf[:0], env)
drain:
	for n := c.liveBatchSize(); len(buf) < n; {
		select {
		case e := <-in:
			buf = append(buf, e)
		default:
			break drain
		}
	}
	newKeys := false
	if len(buf) == 1 {
		newKeys = c.process(ctx, env.Topic, env.Payload)
	} else if err := c.batch(ctx, func(ctx context.Context) {
		for _, e := range buf {
			if c.process(ctx, e.Topic, e.Payload) {
				newKeys = true
			}
		}
	}); err != nil {
		// Nothing of the batch is stored (as after a crash): the envelopes come again
		// with a catch-up of their topics, the last-sync mark being before them, asked
		// for here (the subscription loop retries it with its back-off) rather than left
		// to a periodic Sync that may be off (review 15, TestReview15FailedLiveBatchRefetched).
		c.log.Warn("live batch not committed", "envelopes", len(buf), "err", err)
		newKeys = false
		c.mu.Lock()
		for _, e := range buf {
			c.askCatchUpLocked(e.Topic)
		}
		c.mu.Unlock()
		wake(c.subsWake)
	}
	if newKeys {
		c.retryPending(ctx)
	}
	clear(buf)
	return buf[:0]
}

// askCatchUpLocked has the subscription loop catch topic up from its last sync at its
// next turn (c.mu held; the caller wakes c.subsWake).
func (c *Client) askCatchUpLocked(topic string) {
	if c.catchUp == nil {
		c.catchUp = make(map[string]bool)
	}
	c.catchUp[topic] = true
}

// liveBatchSize is the most live envelopes receiveLive takes into one batch.
func (c *Client) liveBatchSize() int {
	if c.liveBatch > 0 {
		return c.liveBatch
	}
	return LiveBatch
}

// subscriptions keeps one subscription over the query set of the wanted topics (our
// topics and their decoys, queryset.go), forwarding envelopes on our own topics to in.
// When the wanted topics change, the new set is subscribed before the old one is
// dropped (a message in both arrives twice; processing is idempotent), and the whole set
// is caught up from history: what the old subscription held that we had not read yet
// goes with it (TestResubscribeKeepsBacklog).
func (c *Client) subscriptions(ctx context.Context, in chan<- *transport.Envelope, subscribed chan struct{}, wg *sync.WaitGroup) {
	var cur []string // wanted topics of the current subscription
	curCancel := func() {}
	defer func() { curCancel() }()
	first := true
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	// A catch-up that failed (the store unreachable, a timeout) is tried again with a
	// back-off from the retry base to a minute, not left to a periodic sync that may never
	// come (stall hunt, 2026-12-06: syncs off, the backlog of a dropped subscription was
	// lost); a transport with no history at all is final.
	// catchUpDue is set when the back-off timer (again) fires, not when the catch-up fails:
	// set at once, the loop went round and started the next one without waiting (review
	// 13, TestReview13CatchUpRetryBacksOff: 33,000–65,000 History calls in 3 s with every
	// store unreachable, a core spinning).
	catchUpDue, backoff := false, time.Duration(0)
	again := time.NewTimer(time.Hour)
	again.Stop()
	defer again.Stop()
	// The catch-up runs beside the loop (review 9: inline, one that took long — a store
	// not answering, up to SyncTimeout — held back the next change of the subscription,
	// TestResubscribeDuringCatchUp); a change while one runs cancels it and starts
	// another over the whole new set.
	var stopCatchUp context.CancelFunc // the running catch-up's, nil if none
	caught := make(chan error, 1)
	endCatchUp := func() error {
		if stopCatchUp == nil {
			return nil
		}
		stopCatchUp()
		stopCatchUp = nil
		return <-caught
	}
	defer func() { _ = endCatchUp() }()
	for {
		c.mu.Lock()
		want := c.wantedTopicsLocked()
		catchUp := c.catchUp
		c.catchUp = nil
		c.mu.Unlock()
		slices.Sort(want)
		want = slices.Compact(want)
		failed, replaced := false, false
		switch {
		case slices.Equal(want, cur):
		case len(want) == 0:
			curCancel()
			curCancel, cur = func() {}, nil
		default:
			sctx, scancel := context.WithCancel(ctx)
			ch, err := c.tr.Subscribe(sctx, c.querySet(want))
			if err != nil {
				scancel()
				c.log.Debug("subscribe failed", "err", err)
				failed = true
				break
			}
			replaced = true
			curCancel()
			curCancel, cur = scancel, want
			own := make(map[string]bool, len(want))
			for _, t := range want {
				own[t] = true
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-sctx.Done():
						return
					case env, ok := <-ch:
						if !ok {
							return
						}
						if !own[env.Topic] {
							continue // a decoy
						}
						select {
						case in <- &env:
						case <-sctx.Done():
							return
						}
					}
				}
			}()
		}
		if first {
			first = false
			close(subscribed) // the initial Sync (maintenance) covers these topics
		} else if failed {
			c.mu.Lock()
			for t := range catchUp { // for the retry
				c.askCatchUpLocked(t)
			}
			c.mu.Unlock()
		} else if replaced || len(catchUp) > 0 || catchUpDue {
			// A group joined while running: fetch what was published on its topic before
			// we subscribed (from the welcome's time on), in a query over the whole set;
			// and so for a topic we already listened on, joined (or given epochs) by a
			// Welcome (catchUpFromWelcome). Any other change of the set (a group left or
			// lost) too: the old subscription went with what it held unread.
			_ = endCatchUp() // superseded: this one covers the whole set
			catchUpDue = false
			again.Stop() // a retry waiting for its back-off is this one too
			sctx, cancel := context.WithTimeout(ctx, SyncTimeout)
			stopCatchUp = cancel
			topics := want
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := c.syncTopics(sctx, topics)
				c.retryPending(ctx)
				caught <- err
			}()
		}
		if failed {
			retry.Reset(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.subsWake:
		case <-retry.C:
		case <-again.C:
			catchUpDue = true
		case err := <-caught:
			stopCatchUp()
			stopCatchUp = nil
			switch {
			case err == nil:
				backoff = 0
			case ctx.Err() != nil:
				return
			default:
				c.log.Debug("sync of new topics failed", "err", err)
				// No store at all is final; stores that did not answer this time are
				// not (review 9, TestReview9CatchUpRetriedStoresUnreachable).
				if !errors.Is(err, transport.ErrNoHistory) || errors.Is(err, transport.ErrHistoryUnreachable) {
					backoff = min(max(2*backoff, c.opt.retryBase), time.Minute)
					again.Reset(backoff)
				}
			}
		}
	}
}

// maintenance runs the publish retries and prekey upkeep, and starts the syncs
// (syncs) beside them: a Sync that takes long (a store keeping its answers truncated,
// up to SyncTimeout) never holds a retry back (review 9,
// TestReview9SyncHoldsMaintenance).
func (c *Client) maintenance(ctx context.Context, subscribed <-chan struct{}, wg *sync.WaitGroup) {
	select {
	case <-subscribed:
	case <-ctx.Done():
		return
	}
	c.refreshOwnDevices(ctx)
	c.shareSecretOnce(ctx)
	c.maintainPrekeys(ctx)
	c.retryDue(ctx)
	_ = c.tx(ctx, func(t *txn) error { return t.pruneOutbox() })
	wg.Add(1)
	go func() { defer wg.Done(); c.syncs(ctx) }()
	tick := time.NewTicker(max(c.opt.retryBase/2, 10*time.Millisecond))
	defer tick.Stop()
	lastMaint := c.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.outWake:
		case <-tick.C:
		}
		c.retryDue(ctx)
		c.announceIfDue(ctx)
		c.healDue(ctx)
		now := c.now()
		if now.Sub(lastMaint) >= time.Hour {
			lastMaint = now
			c.maintainPrekeys(ctx)
			_ = c.tx(ctx, func(t *txn) error {
				if err := t.pruneOutbox(); err != nil {
					return err
				}
				return t.PruneSeen(now.Add(-SeenRetention))
			})
		}
	}
}

// Run's Sync that ends cut short (an error wrapping transport.ErrHistoryTruncated: a stop
// rule or the fruitless budget ended it with its progress kept, so more may remain) is
// followed by the next after a pause: the first as long as that Sync took (at least
// syncRetryMin), each further one in a row twice the previous (at least as long as the Sync
// before it took), at most syncRetryMax. An honest flood or backlog past one Sync's budget is
// crossed in a few Syncs at once, not one per sync interval (review 19,
// TestReview19FloodCutNoRetry: with periodic syncs off it was never crossed); a lying store
// cutting every Sync short costs at most half of the time until the first pause, and one
// Sync's budget per syncRetryMax from then on.
const (
	syncRetryMin = 100 * time.Millisecond
	syncRetryMax = time.Minute
)

// nextSyncPause returns the pause before the Sync after one cut short that took took, prev
// being the pause before that one (0: the Sync before it was not cut short).
func nextSyncPause(prev, took time.Duration) time.Duration {
	return min(max(2*prev, took, syncRetryMin), syncRetryMax)
}

// syncs runs Run's Syncs one at a time: one at the start, then one whenever the sync
// interval has passed on the client's clock since the previous one started, and one after
// the pause (nextSyncPause) that follows a Sync cut short.
func (c *Client) syncs(ctx context.Context) {
	var tickC <-chan time.Time
	if c.opt.syncInterval > 0 {
		tick := time.NewTicker(max(c.opt.retryBase/2, 10*time.Millisecond))
		defer tick.Stop()
		tickC = tick.C
	}
	again := time.NewTimer(time.Hour)
	again.Stop()
	defer again.Stop()
	var pause time.Duration // the pause before the next Sync; 0: none is due early
	var lastSync time.Time
	run := func() {
		lastSync = c.now()
		start := time.Now()
		err := c.syncBounded(ctx)
		again.Stop()
		if errors.Is(err, transport.ErrHistoryTruncated) && ctx.Err() == nil {
			pause = nextSyncPause(pause, time.Since(start))
			again.Reset(pause)
		} else {
			pause = 0
		}
	}
	run()
	for tickC != nil || pause > 0 {
		select {
		case <-ctx.Done():
			return
		case <-again.C:
			run()
		case <-tickC:
			if now := c.now(); now.Sub(lastSync) >= c.opt.syncInterval {
				run()
			}
		}
	}
}

// syncBounded runs one Sync for Run, within SyncTimeout, and returns its error.
func (c *Client) syncBounded(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, SyncTimeout)
	defer cancel()
	err := c.Sync(ctx)
	if err != nil {
		c.log.Debug("sync failed", "err", err)
	}
	return err
}

// maintainPrekeys rotates the signed prekey and refills one-time prekeys when due, and
// keeps an announcement scheduled (announce.go, scheduleAnnounce): never published here,
// so starting says nothing to anyone who watches announcements.
func (c *Client) maintainPrekeys(ctx context.Context) {
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return nil // waiting to be linked: nothing to maintain or announce yet
		}
		rec, err := t.Account()
		if err != nil {
			return err
		}
		if err := t.rotatePrekeys(c.acct, rec, c.now(), false); err != nil {
			return err
		}
		// rotatePrekeys (and a new device list) clear AnnouncedAt: a new bundle or list is
		// announced within AnnounceInterval (devices_sign.go announces list changes at once).
		if t.scheduleAnnounce(rec, rec.AnnouncedAt.IsZero()) {
			return t.PutAccount(rec)
		}
		return nil
	})
	if err != nil {
		c.log.Debug("prekey maintenance failed", "err", err)
	}
}

// announceIfDue publishes the scheduled announcement once it is due.
func (c *Client) announceIfDue(ctx context.Context) {
	c.mu.Lock()
	due := c.nextAnnounce
	c.mu.Unlock()
	if due.IsZero() || c.now().Before(due) {
		return
	}
	if err := c.Announce(ctx); err != nil {
		c.log.Debug("announce failed", "err", err)
	}
	c.mu.Lock()
	if c.nextAnnounce.Equal(due) { // nothing queued (no secret yet): look again later
		c.nextAnnounce = c.now().Add(AnnounceInterval / 2)
	}
	c.mu.Unlock()
}
