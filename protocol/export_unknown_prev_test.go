package protocol

import (
	"context"

	"github.com/chorus-im/chorus/epoch"
)

// SetRekeyPrevHookForTest has c publish, in the rekeys it authors, the prev set f returns
// instead of its frontier (applied locally with the real one): a member naming made-up
// prev ids.
func SetRekeyPrevHookForTest(c *Client, f func(prev epoch.Frontier) epoch.Frontier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookRekeyPrev = f
}

// KnownKeyEventsForTest returns how many key event ids c's schedule of g remembers (-1
// without a schedule).
func KnownKeyEventsForTest(c *Client, g GroupID) int {
	return scheduleCount(c, g, (*epoch.Schedule).Known)
}

// scheduleCount returns count of c's stored schedule of g (-1 without a schedule).
func scheduleCount(c *Client, g GroupID, count func(*epoch.Schedule) int) int {
	n := -1
	_ = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return nil
		}
		n = count(s)
		return nil
	})
	return n
}

// AppliedKeyEventForTest reports whether c's key schedule of group g applied event id.
func AppliedKeyEventForTest(c *Client, g GroupID, id epoch.ID) bool {
	applied := false
	withScheduleForTest(c, g, func(s *epoch.Schedule) { applied = s.Applied(id) })
	return applied
}

// withScheduleForTest runs fn on c's stored key schedule of group g, if it loads.
func withScheduleForTest(c *Client, g GroupID, fn func(*epoch.Schedule)) {
	_ = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		if s, err := loadSchedule(rec); err == nil {
			fn(s)
		}
		return nil
	})
}

// SendEpochForTest returns the epoch c keeps for its sends in group g (hotPath's, with
// its outer sealer), if any.
func SendEpochForTest(c *Client, g GroupID) (epoch.ID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	se, ok := c.hot.sendEpochs[g]
	return se.ep.ID, ok
}

// HeldKeyEventsForTest returns how many key event ids c's schedule of g holds on some
// author's word (-1 without a schedule).
func HeldKeyEventsForTest(c *Client, g GroupID) int {
	return scheduleCount(c, g, (*epoch.Schedule).HeldAll)
}
