package protocol

import (
	"context"
	"time"

	"github.com/chorus-im/chorus/membership"
)

// MissingParentFetchEvery is the least time between two fetches for the missing parents of
// pending membership events (spec "Delivery, idempotence, R1", fix 47): each moves the
// sync point of the groups' topics back to the history window's start, one fetch of the
// query set over the window; a member naming made-up parents gets at most one per this.
const MissingParentFetchEvery = 10 * time.Minute

// missingParents is what the client remembers of the fetches for missing parents: the
// ids fetched for (per group, only those still missing: bounded by the pending bounds,
// MaxPendingEvents × membership.MaxParents a group) and the time of the last fetch.
type missingParents struct {
	asked map[GroupID]map[membership.EventID]bool
	last  time.Time
}

// missingParentIDs returns the parents named by st's pending events that st does not
// hold (neither applied, overridden nor pending): under the causal rules such an event
// waits for them.
func missingParentIDs(st *membership.State) []membership.EventID {
	if st.Version != membership.RulesCausal || len(st.Pending) == 0 {
		return nil
	}
	held := make(map[membership.EventID]bool, len(st.Events)+len(st.Overridden)+len(st.Pending))
	for _, list := range [][]membership.Event{st.Events, st.Overridden, st.Pending} {
		for i := range list {
			held[list[i].ID()] = true
		}
	}
	var out []membership.EventID
	for i := range st.Pending {
		for _, p := range st.Pending[i].Parents {
			if !held[p] {
				held[p] = true // once
				out = append(out, p)
			}
		}
	}
	return out
}

// askMissingParents looks for pending membership events of our active groups that wait
// for a parent we do not hold and were never fetched for; when there is one, and no such
// fetch was asked in the last MissingParentFetchEvery, it moves the sync point of the
// topics of the groups with such parents back to the history window's start (as a
// Welcome's join does, markJoinSync) and marks every missing parent fetched for. It
// reports whether it moved a point (the Sync then fetches). A parent that a live delivery
// dropped and whose envelope is older than our last sync minus syncMargin (a store that
// got it late, a Sync that ran while it was in flight) is otherwise never fetched again,
// and the pending event, with everything after it, never applies (fix 47,
// TestFix47PendingParentBeforePoint).
func (c *Client) askMissingParents(ctx context.Context) (bool, error) {
	// Most Syncs have no pending event anywhere: no transaction for them.
	c.mu.Lock()
	some := len(c.parents.asked) > 0
	for _, gc := range c.groups {
		some = some || len(gc.state.Pending) > 0
	}
	c.mu.Unlock()
	if !some {
		return false, nil
	}
	moved := false
	err := c.tx(ctx, func(t *txn) error {
		moved = false
		mp := &c.parents
		now := c.now()
		due := mp.last.IsZero() || now.Sub(mp.last) >= MissingParentFetchEvery || now.Before(mp.last)
		var topics []string
		fresh := map[GroupID][]membership.EventID{}
		for id, gc := range c.groups {
			missing := missingParentIDs(&gc.state)
			if gc.status != GroupActive || len(missing) == 0 {
				delete(mp.asked, id)
				continue
			}
			asked := mp.asked[id]
			kept := make(map[membership.EventID]bool, len(missing))
			isNew := false
			for _, p := range missing {
				if asked[p] {
					kept[p] = true // still missing, fetched for already
				} else {
					isNew = true
				}
			}
			if mp.asked == nil {
				mp.asked = map[GroupID]map[membership.EventID]bool{}
			}
			mp.asked[id] = kept // ids no longer missing are forgotten
			if isNew {
				fresh[id] = missing
				topics = append(topics, gc.topic)
			}
		}
		if len(topics) == 0 || !due {
			return nil
		}
		since := now.Add(-c.opt.historyWindow)
		for _, topic := range topics {
			if err := t.markJoinSync(topic, since); err != nil {
				return err
			}
		}
		t.onCommit(func() { // under c.mu
			for id, missing := range fresh {
				for _, p := range missing {
					mp.asked[id][p] = true
				}
			}
			mp.last = now
		})
		moved = true
		return nil
	})
	return moved, err
}
