package protocol

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/chorus-im/chorus/protocol/storage"
	"io"
	"slices"
	"time"
)

// Burst spreading (spec: protocol, "Delivery, idempotence, R1", **Burst spreading**;
// issue 19 item 3). A transaction that would publish many records at once that an
// outsider could tie together — group creation's and an add's Welcomes, a device-list
// change sent to every group of the account (link, revocation) — is a *burst*: with WithBurstSpread(d),
// d > 0, each of its outbox records gets its own not-before time now + U[0, d) (uniform,
// drawn from the client's randomness), stored as the record's NextAttempt in the same
// transaction (a delayed record survives a restart: the retry loop publishes it when it
// is due). Records of one burst on the same topic take the sorted draws in the order they
// were queued, and any later record on a topic with a delayed record still waiting waits
// for it (no later publish overtakes an earlier one on its topic: a message sealed under
// a rekey's epoch never arrives before the rekey).

// DefaultBurstSpread is the spread of a Client without WithBurstSpread.
const DefaultBurstSpread = 30 * time.Second

// WithBurstSpread spreads the publishes of a burst (the Welcomes of a group creation or an
// add, a device link's or revocation's publishes to every group) uniformly over [0, d) each (default
// DefaultBurstSpread; 0: no delay, for tests and demos that need prompt Welcomes and
// accept that an outsider can tie a burst's publishes together). See spec › Delivery ›
// Burst spreading.
func WithBurstSpread(d time.Duration) Option { return func(o *options) { o.spread = max(d, 0) } }

// beginBurst marks t's publishes as one burst (no effect with WithBurstSpread(0)).
func (t *txn) beginBurst() { t.burst = t.c.opt.spread > 0 }

// keepOutOfBurst publishes t's records on topic at once although t is a burst: a group
// creation's or an add's own publishes on the group topic (one topic, so nothing to unlink
// there; the creator or adder can post at once while the Welcomes trickle out).
func (t *txn) keepOutOfBurst(topic string) { t.burstKeep = topic }

// delayQueued applies spreading to a record t.queue just stored: a burst record is
// collected for spreadBurst; another record on a topic with a delayed record waiting is
// delayed behind it.
func (t *txn) delayQueued(o *storage.OutboxRecord) error {
	if t.burst && o.Topic != t.burstKeep {
		t.burstRecs = append(t.burstRecs, o)
		o.Delayed = true
		return nil
	}
	until, ok := t.spreadUntil(o.Topic)
	if !ok || !until.After(t.c.now()) {
		return nil
	}
	o.Delayed, o.NextAttempt = true, until.Add(time.Nanosecond)
	t.noteDelayed(o)
	return t.PutOutbox(o)
}

// spreadUntil is the latest not-before time of a delayed record on topic, this
// transaction's included.
func (t *txn) spreadUntil(topic string) (time.Time, bool) {
	if at, ok := t.spreadLast[topic]; ok {
		return at, true
	}
	at, ok := t.c.spreadUntil[topic]
	return at, ok
}

// spreadBurst draws the not-before times of the burst's records (at the end of the
// transaction, before commit).
func (t *txn) spreadBurst() error {
	recs := t.burstRecs
	t.burstRecs = nil
	if len(recs) == 0 {
		return nil
	}
	c := t.c
	now := c.now()
	draws := make(map[string][]time.Duration)
	for _, o := range recs {
		d, err := uniformDuration(c.rand, c.opt.spread)
		if err != nil {
			return err
		}
		draws[o.Topic] = append(draws[o.Topic], d)
	}
	for _, ds := range draws {
		slices.Sort(ds)
	}
	next := map[string]int{}
	for _, o := range recs {
		i := next[o.Topic]
		next[o.Topic] = i + 1
		nb := now.Add(draws[o.Topic][i])
		if until, ok := t.spreadUntil(o.Topic); ok && !until.Before(nb) {
			nb = until.Add(time.Nanosecond) // behind an earlier delayed record on its topic
		}
		o.NextAttempt = nb
		if err := t.PutOutbox(o); err != nil {
			return err
		}
		t.noteDelayed(o)
	}
	return nil
}

// noteDelayed records a delayed record's not-before time for its topic (spreadUntil, at
// commit), wakes the retry loop then, and tells a message's sender when it will go.
func (t *txn) noteDelayed(o *storage.OutboxRecord) {
	c := t.c
	topic, at := o.Topic, o.NextAttempt
	if t.spreadLast == nil {
		t.spreadLast = map[string]time.Time{}
	}
	if cur, ok := t.spreadUntil(topic); !ok || at.After(cur) {
		t.spreadLast[topic] = at
	}
	t.onCommit(func() {
		if len(c.spreadUntil) >= 256 { // forget topics whose delayed records are due
			now := c.now()
			for tp, until := range c.spreadUntil {
				if !until.After(now) {
					delete(c.spreadUntil, tp)
				}
			}
		}
		if cur, ok := c.spreadUntil[topic]; !ok || at.After(cur) {
			c.spreadUntil[topic] = at
		}
		c.noteDue(at)
	})
	if o.HasMessage {
		if m, err := t.Message(o.Message); err == nil {
			t.emit(&MessageQueued{ID: o.Message, Group: m.Group, ExpectedAt: at})
		}
	}
}

// loadSpread rebuilds spreadUntil from the outbox: records still waiting for a time in
// the future (a previous run's delayed records) hold back later records on their topic.
func (c *Client) loadSpread(ctx context.Context) error {
	c.spreadUntil = map[string]time.Time{}
	now := c.now()
	return c.durableLater(c.store.WithTx(ctx, func(st storage.StoreTx) error {
		recs, err := st.DueOutbox(parkedAt.Add(-time.Nanosecond), 1<<20)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.NextAttempt.After(now) {
				if cur, ok := c.spreadUntil[r.Topic]; !ok || r.NextAttempt.After(cur) {
					c.spreadUntil[r.Topic] = r.NextAttempt
				}
			}
		}
		return nil
	}))
}

// uniformDuration draws a duration uniformly from [0, d) (d > 0).
func uniformDuration(r io.Reader, d time.Duration) (time.Duration, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("protocol: reading randomness: %w", err)
	}
	// 64 random bits reduced modulo d: the bias is below d / 2^64 (negligible).
	return time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(d)), nil
}
