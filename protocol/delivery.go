package protocol

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
	"time"
	"unsafe"

	"lukechampine.com/blake3"

	"github.com/chorus-im/chorus/internal/blake3cat"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport"
)

// envelopeHash is the engine's own identifier of a payload on a topic (the replay marker):
// SHA-256(u16 len(topic) || topic || payload), BLAKE3-256 of the same bytes when they are
// more than envelopeHashBLAKE3. It does not trust the transport's hash.
func envelopeHash(topic string, payload []byte) [32]byte {
	if n := 2 + len(topic) + len(payload); n <= envelopeHashStack {
		// A group message's envelope (≈ 400 B) hashed in one call from the stack: no
		// digest allocated per send and per receive (issue 16).
		var buf [envelopeHashStack]byte
		buf[0], buf[1] = byte(len(topic)>>8), byte(len(topic))
		copy(buf[2+copy(buf[2:], topic):], payload)
		return sha256.Sum256(buf[:n])
	}
	var h hash.Hash = sha256.New()
	if 2+len(topic)+len(payload) > envelopeHashBLAKE3 {
		// A large envelope (a key block: 150 KB at 1000 installations) is hashed with
		// BLAKE3, ≈ 3 times faster here (issue 13; spec "Delivery").
		h = blake3.New(32, nil)
	}
	h.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
	h.Write([]byte(topic))
	h.Write(payload)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// hasherPool lends BLAKE3 hashers (18 KB each, most of it the hasher's buffer; blake3cat:
// the envelope goes through the buffer, the block is hashed where it is) to a
// client's replay markers of large envelopes and to its key block signature checks: a
// fresh one for each per key block received was two allocations that had to be zeroed,
// and in a process that had returned its free memory to the OS, written to through page
// faults (issue 13). The zero value is ready; the pool is the client's own (sync.Pool:
// safe for concurrent use, emptied by the collector).
type hasherPool struct{ p sync.Pool }

// envelopeHash is envelopeHash (the same marker) with a hasher of the pool.
func (hp *hasherPool) envelopeHash(topic string, payload []byte) [32]byte {
	if 2+len(topic)+len(payload) <= envelopeHashBLAKE3 {
		return envelopeHash(topic, payload)
	}
	h := hp.get()
	n := [2]byte{byte(len(topic) >> 8), byte(len(topic))}
	out := h.Sum256(n[:], unsafe.Slice(unsafe.StringData(topic), len(topic)), payload)
	hp.put(h)
	return out
}

// get lends a hasher, put takes it back.
func (hp *hasherPool) get() *blake3cat.Hasher {
	if h, ok := hp.p.Get().(*blake3cat.Hasher); ok {
		return h
	}
	return new(blake3cat.Hasher)
}

func (hp *hasherPool) put(h *blake3cat.Hasher) { hp.p.Put(h) }

// envelopeHashStack is the largest envelope envelopeHash hashes from a stack buffer.
const envelopeHashStack = 1024

// envelopeHashBLAKE3: an envelope whose hashed bytes (u16 len(topic) || topic || payload)
// are more has the BLAKE3-256 replay marker, one of at most this many the SHA-256 one.
const envelopeHashBLAKE3 = 4096

// queue stores a publish to make (Unpublished) and marks its payload as seen, so that our
// own messages coming back from the network are skipped. At commit the record is claimed
// for the caller, which publishes it with publishIDs (the retry loop leaves it alone).
func (t *txn) queue(topic string, payload []byte, msg *MessageID) (*storage.OutboxRecord, error) {
	o, err := t.queueRecord(topic, payload, msg, false)
	if err != nil {
		return nil, err
	}
	if err := t.MarkSeen(envelopeHash(topic, payload), t.c.now()); err != nil {
		return nil, err
	}
	return o, nil
}

// queueRecord is queue without the replay marker. sole: the record is the only one msg
// will ever have (storage.OutboxRecord.Sole: its outcome is the message's status).
func (t *txn) queueRecord(topic string, payload []byte, msg *MessageID, sole bool) (*storage.OutboxRecord, error) {
	now := t.c.now()
	// The retry loop only takes the record over if the caller did not publish it within
	// retryBase (e.g. a crash).
	o := &storage.OutboxRecord{Topic: topic, Payload: payload, Status: StatusUnpublished, NextAttempt: now.Add(t.c.opt.retryBase), CreatedAt: now}
	if msg != nil {
		o.Message, o.HasMessage, o.Sole = *msg, true, sole
	}
	if err := t.PutOutbox(o); err != nil {
		return nil, err
	}
	if err := t.delayQueued(o); err != nil {
		return nil, err
	}
	t.onCommit(func() {
		if o.Delayed {
			return // the retry loop publishes it when due (spread.go)
		}
		t.c.noteDue(o.NextAttempt)
		t.c.claim(o.ID)
		t.claimed = append(t.claimed, o.ID) // released if a later after-commit action panics (runAfter)
	})
	return o, nil
}

// claim marks an outbox record as being published by the caller; false if it already is.
func (c *Client) claim(id int64) bool {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	if _, busy := c.inflight[id]; busy {
		return false
	}
	c.inflight[id] = struct{}{}
	return true
}

func (c *Client) release(id int64) {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	delete(c.inflight, id)
}

// publishIDs publishes outbox records the caller's committed transaction queued (and
// claimed). Failures are recorded and retried by Run.
func (c *Client) publishIDs(ctx context.Context, recs []*storage.OutboxRecord) {
	if c.hookStored != nil && c.hookStored() != nil {
		for _, r := range recs {
			c.release(r.ID)
		}
		return // test hook: simulate a crash between store and publish
	}
	for _, r := range recs {
		if r.Delayed {
			continue // not claimed: published by the retry loop when due (spread.go)
		}
		c.publishClaimed(ctx, r)
	}
}

// publishSole is publishIDs for a send whose message has one outbox record, rec, queued
// (and claimed) by the caller's committed transaction. A successful publish is marked
// without reading the record or the message back: the record is deleted if it is still
// unpublished and the message set Published (recordOutcome's result for a message's only
// record), not in a transaction of its own but at the start of the client's next one
// (recordMarks: a stream of sends records each publish in the next send's transaction),
// or after markDelay if none comes. The record stays claimed until then. Anything else
// takes publishIDs' path.
func (c *Client) publishSole(ctx context.Context, group GroupID, rec *storage.OutboxRecord) {
	if rec.Delayed || c.rl != nil || c.hookStored != nil || c.notDurable.Load() {
		c.publishIDs(ctx, []*storage.OutboxRecord{rec})
		return
	}
	_, err := c.tr.Publish(ctx, rec.Topic, rec.Payload)
	if err != nil {
		if ctx.Err() == nil {
			c.recordOutcome(ctx, rec, err)
		}
		c.release(rec.ID)
		return // cancelled: not an attempt; retried later
	}
	c.mu.Lock()
	c.marks = append(c.marks, soleMark{rec: rec, group: group})
	c.armMarks()
	c.mu.Unlock()
}

// armMarks makes sure markTimer will record the marks waiting (called with c.mu held).
// It is armed once per markDelay, not per send: a stream's marks are recorded by the
// next send's transaction anyway.
func (c *Client) armMarks() {
	if c.markArmed {
		return
	}
	c.markArmed = true
	c.markTxsArmed = c.markTxs
	if c.markTimer == nil {
		c.markTimer = time.AfterFunc(markDelay, c.marksDue)
	} else {
		c.markTimer.Reset(markDelay)
	}
}

// soleMark is a send's publish not recorded yet (publishSole).
type soleMark struct {
	rec   *storage.OutboxRecord
	group GroupID
}

// markDelay bounds how long an idle client leaves a send's publish unrecorded.
const markDelay = 5 * time.Millisecond

// recordMarks records the publishes of sends not recorded yet (publishSole), first in a
// transaction (its reads see them). In a batch they wait for the next transaction
// outside it (a batch's commit may fail as a whole). A publish recorded releases its
// record's claim at commit; if the transaction fails, it is recorded by the next.
func (t *txn) recordMarks(ctx context.Context) error {
	c := t.c
	if len(c.marks) == 0 || batchOf(ctx) != nil {
		return nil
	}
	marks := c.marks
	c.marks = nil
	t.marks = marks // marksDone (no closure allocated per send)
	for _, m := range marks {
		changed, err := t.PublishedSole(m.rec)
		if err != nil {
			return err
		}
		if changed {
			// Late (bus.emitLate): in a stream of sends, one wake-up of the
			// subscriber per burst, not one on every send's goroutine.
			t.emitLate(&DeliveryStatusChanged{Message: m.rec.Message, Group: m.group, Status: StatusPublished})
		}
	}
	return nil
}

// marksDone ends the marks recordMarks took (t.marks, c.mu held): committed, their
// records' claims are released; rolled back, they wait for the next transaction (or
// markTimer: an idle client records them all the same).
func (t *txn) marksDone(committed bool) {
	c, marks := t.c, t.marks
	if marks == nil {
		return
	}
	t.marks = nil
	if !committed {
		c.marks = append(marks, c.marks...)
		c.armMarks()
		return
	}
	c.markTxs++ // committed: a transaction recorded marks (marksDue)
	for _, m := range marks {
		c.release(m.rec.ID)
	}
	if c.marks == nil {
		clear(marks)
		c.marks = marks[:0] // the buffer, for the next ones
	}
}

// marksDue is markTimer's: the publishes not recorded yet are recorded by a transaction
// of their own (flushMarks), unless transactions committed marks since the timer was
// armed (rolled-back ones put them back and do not count) — a stream of sends records each publish in the next send's transaction, and a
// transaction of the timer's every markDelay only contended with it for the client and
// the store (issue 16) — then it looks again after markDelay. An idle client's last
// publish is recorded within 2 × markDelay.
func (c *Client) marksDue() {
	c.mu.Lock()
	if len(c.marks) > 0 && c.markTxs != c.markTxsArmed {
		c.markArmed = false
		c.armMarks()
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.flushMarks()
}

// flushMarks records the publishes not recorded yet (publishSole) in a transaction of
// their own: marksDue's, and Close's.
func (c *Client) flushMarks() {
	c.mu.Lock()
	c.markArmed = false
	n := len(c.marks)
	c.mu.Unlock()
	if n > 0 {
		_ = c.tx(context.Background(), func(*txn) error { return nil })
	}
}

// attempt publishes one outbox record found by the retry loop, unless someone else is
// publishing it.
func (c *Client) attempt(ctx context.Context, rec *storage.OutboxRecord) {
	if !c.claim(rec.ID) {
		return
	}
	// Re-read under the claim: another goroutine may have published it meanwhile.
	var fresh *storage.OutboxRecord
	if err := c.tx(ctx, func(t *txn) error {
		var err error
		fresh, err = t.Outbox(rec.ID)
		return err
	}); err != nil || fresh.Status != StatusUnpublished {
		c.release(rec.ID)
		return
	}
	c.publishClaimed(ctx, fresh)
}

// publishClaimed publishes a claimed record, records the outcome and releases the claim.
// On a rate-limited transport the quota outbox decides when it goes (quota.go).
func (c *Client) publishClaimed(ctx context.Context, rec *storage.OutboxRecord) {
	defer c.release(rec.ID)
	if c.notDurable.Load() {
		return // a commit not durable yet: the retry loop's transaction syncs it first
	}
	if c.rl != nil {
		c.publishLimited(ctx, rec)
		return
	}
	_, err := c.tr.Publish(ctx, rec.Topic, rec.Payload)
	if ctx.Err() != nil && err != nil {
		return // cancelled: not an attempt; retried later
	}
	c.recordOutcome(ctx, rec, err)
}

// recordOutcome stores the result of a publish attempt of rec.
func (c *Client) recordOutcome(ctx context.Context, rec *storage.OutboxRecord, err error) {
	_ = c.tx(context.WithoutCancel(ctx), func(t *txn) error {
		cur, err2 := t.Outbox(rec.ID)
		if err2 != nil || cur.Status != StatusUnpublished {
			return err2
		}
		switch {
		case err == nil:
			cur.Attempts++
			cur.Status = StatusPublished
		case errors.Is(err, transport.ErrNoPeers):
			// Nobody to publish to (a node alone, or offline): not an attempt. The record
			// stays Unpublished in the outbox and is tried again until a peer appears.
			c.log.Debug("publish waits for a peer", "err", err)
			cur.NextAttempt = c.now().Add(c.opt.retryBase)
			next := cur.NextAttempt
			t.onCommit(func() { c.noteDue(next) })
		default:
			cur.Attempts++
			c.log.Debug("publish failed", "attempt", cur.Attempts, "err", err)
			if cur.Attempts >= MaxAttempts {
				cur.Status = StatusFailed
			} else {
				cur.NextAttempt = c.now().Add(c.opt.retryBase << (cur.Attempts - 1))
				next := cur.NextAttempt
				t.onCommit(func() { c.noteDue(next) })
			}
		}
		if err := t.keepOutbox(cur); err != nil {
			return err
		}
		if cur.Sole {
			// The message's only record: its outcome is the message's status (OutboxOf
			// does not return it).
			return t.setMessageStatus(cur.Message, cur.Status)
		}
		if cur.HasMessage {
			return t.updateMessageStatus(cur.Message)
		}
		return nil
	})
}

// keepOutbox stores the outcome of an attempt: a published record is deleted (nothing
// needs it any more: a message's status counts only its records still unpublished or
// failed); a failed one is kept, within the history window and MaxOutboxKeptBytes.
func (t *txn) keepOutbox(o *storage.OutboxRecord) error {
	switch o.Status {
	case StatusPublished:
		return t.DeleteOutbox(o.ID)
	case StatusFailed:
		if err := t.PutOutbox(o); err != nil {
			return err
		}
		return t.pruneOutbox()
	}
	return t.PutOutbox(o)
}

// pruneOutbox drops kept outbox records older than the history window and beyond
// MaxOutboxKeptBytes.
func (t *txn) pruneOutbox() error {
	return t.PruneOutbox(t.c.now().Add(-t.c.opt.historyWindow), MaxOutboxKeptBytes)
}

// updateMessageStatus derives a message's status from its outbox records.
func (t *txn) updateMessageStatus(id MessageID) error {
	outs, err := t.OutboxOf(id)
	if err != nil {
		return err
	}
	st := StatusPublished
	for _, o := range outs {
		switch o.Status {
		case StatusFailed:
			st = StatusFailed
		case StatusUnpublished:
			if st != StatusFailed {
				st = StatusUnpublished
			}
		}
	}
	return t.setMessageStatus(id, st)
}

// setMessageStatus sets a message's status to st, if it is not st already, and emits the
// change.
func (t *txn) setMessageStatus(id MessageID, st DeliveryStatus) error {
	m, err := t.Message(id)
	if err != nil || m.Status == st {
		return err
	}
	if err := t.SetMessageStatus(id, st); err != nil {
		return err
	}
	t.emit(&DeliveryStatusChanged{Message: id, Group: m.Group, Status: st})
	return nil
}

// noteDue records that an outbox record may be due at at (called under c.mu).
func (c *Client) noteDue(at time.Time) {
	if c.dueAt.IsZero() || at.Before(c.dueAt) {
		c.dueAt = at
	}
}

// retryDue publishes every due outbox record. It only reads the store when a record may
// be due (dueAt), so an idle client does not poll its database.
func (c *Client) retryDue(ctx context.Context) {
	if c.rl != nil {
		c.drainQuota(ctx)
	}
	c.mu.Lock()
	now := c.now()
	if c.dueAt.IsZero() || now.Before(c.dueAt) {
		c.mu.Unlock()
		return
	}
	c.dueAt = time.Time{}
	c.mu.Unlock()
	for ctx.Err() == nil {
		var due []storage.OutboxRecord
		err := c.tx(ctx, func(t *txn) error {
			var err error
			due, err = t.DueOutbox(c.now(), 64)
			return err
		})
		if err != nil || len(due) == 0 {
			break
		}
		for i := range due {
			c.attempt(ctx, &due[i])
		}
		if len(due) < 64 {
			break
		}
	}
	c.scheduleNextDue(ctx)
}

// scheduleNextDue sets dueAt to the earliest pending attempt in the store. If the store
// cannot tell, it looks again after retryBase (a record delayed by spreading may be the
// only one left: nothing else would wake the loop for it).
func (c *Client) scheduleNextDue(ctx context.Context) {
	err := c.tx(ctx, func(t *txn) error {
		next, err := t.DueOutbox(time.Unix(1<<32, 0), 1)
		if err != nil || len(next) == 0 {
			return err
		}
		c.noteDue(next[0].NextAttempt)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.mu.Lock()
		c.noteDue(c.now().Add(c.opt.retryBase))
		c.mu.Unlock()
	}
}

func timeFromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

var timeZero time.Time
