// Key schedule v2: when the heal check runs. A heal is a transaction of its own, after the
// one that named it (healLater) commits: its failure fails only the heal (fix 26).

package protocol

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// healQueue is the groups committed transactions named for the heal check (healLater), in
// order, with the seeds they refused in them (healV2 reads them: healRefused).
type healQueue struct {
	ids     []GroupID
	refused []refusal
}

// add takes t's heals (a committed transaction's) into q, each group once.
func (q *healQueue) add(t *txn) {
	for _, id := range t.heal {
		if !slices.Contains(q.ids, id) {
			q.ids = append(q.ids, id)
		}
	}
	for _, r := range t.refused {
		if slices.Contains(t.heal, r.group) && !slices.Contains(q.refused, r) {
			q.refused = append(q.refused, r)
		}
	}
}

// healAfter runs the heal check of each group of q in a transaction of its own, once the
// transactions that named them have committed (runTx, outside a batch; batch, after the
// batch's commit): a heal that fails — the store failing at its key block's outbox write,
// an error of the rekey for one member's session, a panic contained — rolls back only
// itself. Before, the heal ran inside the receive's transaction, after its work, and its
// failure rolled back the receive with it: the key event, the messages, their replay
// markers, and in a Sync or live batch every envelope of it (other groups' too), failing
// again at every retry — or, a failure of the transaction's own, dropped the envelope
// with its marker, the leave never applied (TestFix26HealFailureKeepsReceive). A failed
// heal is tried again by Run's loop after the heal grace, doubling (healRetry, keyed by
// the frontier it was for); a group backing off so is left to it here too. A crash
// between the two transactions is covered as a forgotten overdue heal is: after the
// caches are built, healDue looks at every active group once (healScan). Nothing the
// receive must hold atomically is in the heal: it is a rekey of the state the receive
// committed, which a send before it makes first itself (prepareV2). Called with c.mu held
// (and the batch's turn); it returns what the heals queued to publish.
func (c *Client) healAfter(ctx context.Context, q healQueue) []*storage.OutboxRecord {
	var sends []*storage.OutboxRecord
	for i, id := range q.ids {
		var frontier [32]byte
		var refused []refusal // the seeds refused in group id: kept for a failed heal's retry
		for _, r := range q.refused {
			if r.group == id {
				refused = append(refused, r)
			}
		}
		if len(refused) == 0 && c.healNeedless(id) {
			continue // outranked: the transaction would find nothing to do, change nothing
		}
		t, err := c.runTx(ctx, func(t *txn) error {
			g, gc, err := t.healStart(id, &refused, false, &frontier)
			if err != nil || gc == nil {
				return err
			}
			if r, ok := t.c.healRetry[id]; ok && r.frontier == frontier && t.c.now().Before(r.next) {
				return nil // backing off after a failed heal of this state: healDue tries again
			}
			return t.healV2(g, gc, false)
		})
		if err != nil {
			c.log.Warn("heal failed: the transaction that needed it stands; tried again later", "group", id.String()[:8], "err", err)
			c.healFailed(id, frontier, err, refused)
			if errors.Is(err, errStore) || errors.Is(err, ErrInternal) {
				// The caches may disagree with the store: rebuilt before the next
				// transaction, whose healScan looks at every group, these left too.
				c.stale.Store(true)
				c.log.Debug("heals left to the scan after a reload", "groups", len(q.ids)-i-1)
				break
			}
			continue
		}
		sends = append(sends, t.sends...)
	}
	return sends
}

// healStart begins group id's heal in a transaction of its own (healAfter, healDue): the
// group's state as of it, its cache (nil: the group is gone, nothing to heal), and in
// *frontier the frontier key the heal is for (healRetry's); *refused are the seeds refused
// that it heals (healRefused), with, if fromStore (healScan's look after a crash or reload),
// the refusals derived from the stored state added (storedRefusals), so that a failed
// heal's retry keeps them too.
func (t *txn) healStart(id GroupID, refused *[]refusal, fromStore bool, frontier *[32]byte) (*storage.GroupRecord, *groupCache, error) {
	t.healing = true
	gc := t.c.groups[id]
	if gc == nil {
		return nil, nil, nil
	}
	g, err := t.GroupState(id)
	if err != nil {
		return nil, nil, err
	}
	if fromStore { // the receive's refusals are gone (a crash, a reload): from the store
		stored, err := t.storedRefusals(g)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range stored {
			if !slices.Contains(*refused, r) {
				*refused = append(slices.Clip(*refused), r)
			}
		}
	}
	t.refused = append(t.refused, *refused...)
	if *frontier, err = t.healFrontier(g); err != nil {
		return nil, nil, err
	}
	return g, gc, nil
}

// healNeedless reports, from memory only, whether group id's heal transaction (healAfter,
// no refused seed to heal) would find nothing to do and change nothing: another
// installation is designated before us whatever the heal check would find (outranked),
// no failed heal of ours backs off (healRetry: its entry may need dropping), no overdue
// note waits (it may be stale: healV2 clears it). It reads what the committed transaction
// left: the group's state in view, the decoded schedule and bookkeeping the memos hold for
// its bytes, the member installations cached for its membership; if any is not there
// the transaction runs. A key event received by a member of a large group that is not the
// designated installation — all but one — so costs no BEGIN/COMMIT and no decoding (issue
// 13). Called with c.mu held.
func (c *Client) healNeedless(id GroupID) bool {
	gc := c.groups[id]
	if gc == nil || !gc.overdue.IsZero() || c.stale.Load() {
		return false
	}
	if _, ok := c.healRetry[id]; ok {
		return false
	}
	g := c.hot.groups[id]
	if g == nil || g.Status != GroupActive || len(g.Schedule) == 0 {
		return false
	}
	sm, ok := c.scheds[id]
	if !ok || !bytes.Equal(sm.enc, g.Schedule) {
		return false
	}
	mm, ok := c.metas[id]
	if !ok || !bytes.Equal(mm.enc, g.EpochMeta) {
		return false
	}
	mi := c.cachedInstalls(gc, gc.state.Members) // as the transaction's check (outranked) takes it
	if mi == nil {
		return false
	}
	return mayBeOutranked(sm.s, mm.m, &gc.state) && outrankedBy(sm.s, mm.m, mi, &c.acct.inst)
}

// healBatch runs the heals a committed batch's transactions named (healAfter), taking the
// batch's turn and c.mu as a transaction outside a batch does (txTurn).
func (c *Client) healBatch(ctx context.Context, q healQueue) []*storage.OutboxRecord {
	if len(q.ids) == 0 || c.isClosed() { // closed: the next start's scan looks (healScan)
		return nil
	}
	leave := c.enter(ctx)
	defer leave()
	if err := c.ready(ctx); err != nil {
		return nil // not rebuilt: the next try's reload is followed by healScan
	}
	c.mu.Lock()
	done := false
	defer c.endTurn(&done)
	sends := c.healAfter(ctx, q)
	done = true
	return sends
}

// healFrontier is the frontier key (frontierKey) of group state g, zero for a group not
// active on key schedule v2: what a failed heal's backoff is for (healRetry).
func (t *txn) healFrontier(g *storage.GroupRecord) ([32]byte, error) {
	if g.Status != GroupActive || len(g.Schedule) == 0 {
		return [32]byte{}, nil
	}
	s, _, err := t.loadV2(g)
	if err != nil {
		return [32]byte{}, err
	}
	return frontierKey(s), nil
}

// healFailed records a failed heal of group id's state of frontier: tried again by
// healDue after the heal grace, doubling with each failure in a row (healRetryPause),
// with the seeds refused that it healed (healRefused: without them the retry took the
// missing seed for one its sender repeats, and waited for our next send).
// Called with c.mu held.
func (c *Client) healFailed(id GroupID, frontier [32]byte, err error, refused []refusal) {
	now := c.now()
	r := c.healRetry[id]
	if r.frontier != frontier {
		r = healBackoff{frontier: frontier} // another state's failures: not this one's
	}
	for _, x := range refused {
		if !slices.Contains(r.refused, x) {
			r.refused = append(r.refused, x)
		}
	}
	r.fails++
	r.next = now.Add(healRetryPause(c.retryGrace(), r.fails))
	if c.healRetry == nil {
		c.healRetry = map[GroupID]healBackoff{}
	}
	c.healRetry[id] = r
	c.log.Debug("heal failed", "group", id.String()[:8], "fails", r.fails, "next", r.next, "err", err)
}

// retryGrace is the first pause before a failed heal is tried again: the heal grace, or
// DefaultHealGrace when overdue heals are off (WithHealGrace negative).
func (c *Client) retryGrace() time.Duration {
	if c.opt.healGrace > 0 {
		return c.opt.healGrace
	}
	return DefaultHealGrace
}
