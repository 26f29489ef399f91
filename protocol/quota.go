package protocol

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport"
)

// The quota-aware outbox (spec: transport, "Rate limits"). On a transport that limits how
// often we may publish (transport.RateLimiter: Waku with RLN, transport/memory with a
// RateLimit), every outbox record goes through one publisher, in priority order:
//   - critical: pairwise traffic (Welcomes, key distributions, device lists, link and
//     announcement messages) and group messages carrying membership or device-list
//     changes (with their rotation blocks);
//   - normal: the other group messages, in the order they were sent;
//   - ephemeral: best-effort publishes (publishEphemeral) that are never stored.
//
// A record that cannot go now (no quota left in the epoch, or records of at least its
// priority waiting before it) is parked: it stays Unpublished in the outbox with
// NextAttempt = parkedAt, joins the waiting set, and a MessageQueued event tells when it
// is expected to go. Waiting is not an attempt. When the epoch ends the waiting records
// go out in (priority, outbox id) order, as many as the quota allows; every part of a
// split message is its own record of the same priority, so a split rotation block goes
// out whole, in order. The transport's counter alone decides (Publish fails with
// transport.ErrRateLimited over quota, sending nothing), so nothing is ever sent twice
// in an epoch beyond the limit, across restarts too. Parked records are reloaded at New.

// Priority is the class of an outbound publish under a rate limit.
type Priority uint8

// Priorities, most urgent first.
const (
	PriorityCritical Priority = iota
	PriorityNormal
	PriorityEphemeral
)

func (p Priority) String() string {
	switch p {
	case PriorityCritical:
		return "critical"
	case PriorityNormal:
		return "normal"
	case PriorityEphemeral:
		return "ephemeral"
	}
	return "unknown"
}

// parkedAt is the NextAttempt of a record waiting for quota: beyond every due query
// (scheduleNextDue looks up to 2106), within the store's nanosecond range (2262).
var parkedAt = time.Unix(1<<33, 0).UTC()

// ErrDropped is returned by a best-effort publish that the quota did not allow.
var ErrDropped = errors.New("protocol: ephemeral publish dropped (publish quota low)")

// Quota is the publish budget of the client's transport (Client.Quota).
type Quota struct {
	// Limit messages per epoch of length Period.
	Limit  int
	Period time.Duration
	// Epoch is the index of the current epoch; Remaining the publishes left in it;
	// ResetAt when the next epoch begins.
	Epoch     uint64
	Remaining int
	ResetAt   time.Time
	// Queued is the number of outbox records waiting for quota.
	Queued int
}

// MessageQueued reports that an outbound message waits for publish quota, or for the
// not-before time of burst spreading (WithBurstSpread): it is kept in the outbox
// (Unpublished) and expected to go out at about ExpectedAt. Its delivery
// status changes as usual once it is published.
type MessageQueued struct {
	ID         MessageID
	Group      GroupID
	ExpectedAt time.Time
}

func (*MessageQueued) isEvent() {}

// quotaQueue is the waiting set of the quota outbox.
type quotaQueue struct {
	// mu is held across every rate-limited publish: one publisher at a time decides
	// the order. Lock order: mu before Client.mu.
	mu      sync.Mutex
	waiting map[int64]queued
	told    map[MessageID]bool // MessageQueued emitted (this process)
	timer   *time.Timer
}

type queued struct {
	id   int64
	prio Priority
}

// rateLimiterOf returns t's rate limit capability, nil if it has none or no limit.
func rateLimiterOf(t Transport) transport.RateLimiter {
	rl, ok := t.(transport.RateLimiter)
	if !ok {
		return nil
	}
	if n, _ := rl.RateLimit(); n <= 0 {
		return nil
	}
	return rl
}

// Quota returns the publish quota of the transport now; ok is false if the transport
// has no rate limit.
func (c *Client) Quota() (q Quota, ok bool) {
	if c.rl == nil {
		return Quota{}, false
	}
	n, d := c.rl.RateLimit()
	tq := c.rl.Quota(c.now())
	c.q.mu.Lock()
	queued := len(c.q.waiting)
	c.q.mu.Unlock()
	return Quota{Limit: n, Period: d, Epoch: tq.Epoch, Remaining: tq.Remaining, ResetAt: tq.ResetAt, Queued: queued}, true
}

// loadParked fills the waiting set with the records a previous run parked.
func (c *Client) loadParked(ctx context.Context) error {
	c.q.waiting = map[int64]queued{}
	c.q.told = map[MessageID]bool{}
	if c.rl == nil {
		return nil
	}
	return c.durableLater(c.store.WithTx(ctx, func(st storage.StoreTx) error {
		t := &txn{StoreTx: st, c: c}
		recs, err := t.DueOutbox(parkedAt, 1<<30)
		if err != nil {
			return err
		}
		for i := range recs {
			if r := &recs[i]; r.NextAttempt.Equal(parkedAt) {
				c.q.waiting[r.ID] = queued{id: r.ID, prio: t.priorityOf(r)}
			}
		}
		return nil
	}))
}

// priorityOf classifies an outbox record.
func (t *txn) priorityOf(rec *storage.OutboxRecord) Priority {
	if !rec.HasMessage {
		return PriorityCritical
	}
	m, err := t.Message(rec.Message)
	if err != nil {
		return PriorityCritical
	}
	switch ContentType(m.Type) {
	case ContentMembership, ContentDevices:
		return PriorityCritical
	}
	return PriorityNormal
}

// ahead counts the waiting records that go before a record of priority p and id id.
func (q *quotaQueue) ahead(p Priority, id int64) int {
	n := 0
	for _, w := range q.waiting {
		if w.id != id && (w.prio < p || (w.prio == p && w.id < id)) {
			n++
		}
	}
	return n
}

// order returns the waiting records in publish order.
func (q *quotaQueue) order() []queued {
	out := make([]queued, 0, len(q.waiting))
	for _, w := range q.waiting {
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b queued) int {
		if a.prio != b.prio {
			return cmp.Compare(a.prio, b.prio)
		}
		return cmp.Compare(a.id, b.id)
	})
	return out
}

// publishLimited publishes a claimed record on a rate-limited transport, or parks it.
func (c *Client) publishLimited(ctx context.Context, rec *storage.OutboxRecord) {
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	var prio Priority
	if err := c.tx(ctx, func(t *txn) error { prio = t.priorityOf(rec); return nil }); err != nil {
		return
	}
	if _, waiting := c.q.waiting[rec.ID]; waiting || c.q.ahead(prio, rec.ID) > 0 || c.rl.Quota(c.now()).Remaining <= 0 {
		c.park(ctx, rec, prio)
		return
	}
	_, err := c.tr.Publish(ctx, rec.Topic, rec.Payload)
	switch {
	case errors.Is(err, transport.ErrRateLimited):
		c.park(ctx, rec, prio)
		return
	case ctx.Err() != nil && err != nil:
		return
	}
	c.recordOutcome(ctx, rec, err)
}

// park adds rec to the waiting set, stores it as parked, tells when it is expected and
// schedules the drain (c.q.mu held).
func (c *Client) park(ctx context.Context, rec *storage.OutboxRecord, prio Priority) {
	now := c.now()
	tq := c.rl.Quota(now)
	_, period := c.rl.RateLimit()
	ahead := c.q.ahead(prio, rec.ID)
	c.q.waiting[rec.ID] = queued{id: rec.ID, prio: prio}
	expected := now
	if over := ahead - tq.Remaining; over >= 0 {
		expected = tq.ResetAt.Add(time.Duration(over/max(tq.Limit, 1)) * period)
	}
	_ = c.tx(context.WithoutCancel(ctx), func(t *txn) error {
		cur, err := t.Outbox(rec.ID)
		if err != nil || cur.Status != StatusUnpublished {
			delete(c.q.waiting, rec.ID)
			return err
		}
		if !cur.NextAttempt.Equal(parkedAt) {
			cur.NextAttempt = parkedAt
			if err := t.PutOutbox(cur); err != nil {
				return err
			}
		}
		if cur.HasMessage && !c.q.told[cur.Message] {
			m, err := t.Message(cur.Message)
			if err != nil {
				return err
			}
			id := cur.Message
			t.emit(&MessageQueued{ID: id, Group: m.Group, ExpectedAt: expected})
			t.onCommit(func() { c.q.told[id] = true })
		}
		return nil
	})
	if tq.Remaining > 0 {
		c.wakeQuotaAt(now)
	} else {
		c.wakeQuotaAt(tq.ResetAt)
	}
}

// wakeQuotaAt makes Run drain the waiting set at (or just after) at (c.q.mu held).
func (c *Client) wakeQuotaAt(at time.Time) {
	d := at.Sub(c.now())
	if d <= 0 {
		wake(c.outWake)
		return
	}
	if c.q.timer == nil {
		c.q.timer = time.AfterFunc(d, func() { wake(c.outWake) })
		return
	}
	c.q.timer.Reset(d)
}

// drainQuota publishes waiting records in order while the quota allows.
func (c *Client) drainQuota(ctx context.Context) {
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	for _, w := range c.q.order() {
		if ctx.Err() != nil {
			return
		}
		tq := c.rl.Quota(c.now())
		if tq.Remaining <= 0 {
			c.wakeQuotaAt(tq.ResetAt)
			return
		}
		if !c.claim(w.id) {
			c.wakeQuotaAt(c.now().Add(c.opt.retryBase / 4))
			return
		}
		var rec *storage.OutboxRecord
		err := c.tx(ctx, func(t *txn) error {
			var err error
			rec, err = t.Outbox(w.id)
			return err
		})
		if err != nil || rec.Status != StatusUnpublished {
			if err == nil || errors.Is(err, storage.ErrNotFound) {
				delete(c.q.waiting, w.id)
			}
			c.release(w.id)
			continue
		}
		_, err = c.tr.Publish(ctx, rec.Topic, rec.Payload)
		switch {
		case errors.Is(err, transport.ErrRateLimited):
			c.release(w.id)
			c.wakeQuotaAt(c.rl.Quota(c.now()).ResetAt)
			return
		case errors.Is(err, transport.ErrNoPeers), ctx.Err() != nil && err != nil:
			// Keeps its place; not an attempt.
			c.release(w.id)
			c.wakeQuotaAt(c.now().Add(c.opt.retryBase))
			return
		}
		delete(c.q.waiting, w.id)
		if rec.HasMessage {
			delete(c.q.told, rec.Message) // a later part that waits is reported again
		}
		c.recordOutcome(ctx, rec, err)
		c.release(w.id)
	}
}

// publishEphemeral publishes best-effort traffic that is never stored or retried (pings,
// repeats): on a rate-limited transport it goes only if nothing waits for quota and the
// epoch has quota left; otherwise it is dropped (ErrDropped).
func (c *Client) publishEphemeral(ctx context.Context, topic string, payload []byte) error {
	if c.rl == nil {
		_, err := c.tr.Publish(ctx, topic, payload)
		return err
	}
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	if len(c.q.waiting) > 0 || c.rl.Quota(c.now()).Remaining <= 0 {
		return ErrDropped
	}
	_, err := c.tr.Publish(ctx, topic, payload)
	if errors.Is(err, transport.ErrRateLimited) {
		return ErrDropped
	}
	return err
}
