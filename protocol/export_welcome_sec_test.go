package protocol

import (
	"context"
	"errors"
	"fmt"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// FrontierJoinForTest returns the join c would send for its current frontier of group g
// (what an inviter's full-log Welcome carries: reWelcomeConcurrent): the first frontier
// event whose seed c holds, with the contributions of the others.
func FrontierJoinForTest(c *Client, g GroupID) (epoch.Join, error) {
	var j epoch.Join
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		for _, id := range s.Frontier() {
			if seed, ok := s.Seed(id); ok {
				if j, err = s.JoinFor(id, &seed); err == nil {
					return nil
				}
			}
		}
		return errors.New("no seed of the frontier held")
	})
	return j, err
}

// SnapshotWithLaterForTest is SnapshotForTest with later events besides the carried ones
// (what only a stored based state holds): n renames by c naming a parent nobody holds, so
// pending for whoever holds the snapshot.
func SnapshotWithLaterForTest(c *Client, g GroupID, add string, n int) ([]byte, error) {
	var out []byte
	err := c.tx(context.Background(), func(t *txn) error {
		rec, next, snap, err := t.addSnapshotForTest(g, add)
		if err != nil {
			return err
		}
		fake := &membership.State{Version: membership.RulesCausal, Heads: []membership.EventID{{0xee}}, LastClock: next.LastClock}
		var later []membership.Event
		for i := range n {
			ev, err := c.signEvents(rec.ChatID, fake, membership.Event{Type: membership.NameChanged, Name: fmt.Sprint("later ", i)})
			if err != nil {
				return err
			}
			later = append(later, ev...)
		}
		b := *snap.Base
		out, err = (&membership.State{ChatID: rec.ChatID, Base: &b, Events: b.Events, Pending: later}).MarshalSnapshot()
		return err
	})
	return out, err
}

// PendingEventsForTest returns how many membership events c holds pending for group g.
func PendingEventsForTest(c *Client, g GroupID) int {
	n := 0
	_ = c.tx(context.Background(), func(t *txn) error {
		_, gc, err := t.group(g)
		if err == nil {
			n = len(t.stateOf(gc).Pending)
		}
		return err
	})
	return n
}
