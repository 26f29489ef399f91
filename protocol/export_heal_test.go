package protocol

import (
	"context"
	"unsafe"
)

// HealthyForTest reports whether c's cache entry of group g holds the stored schedule and
// bookkeeping as found healed (cached), and whether the heal check computed afresh finds
// the group healed (fresh).
func HealthyForTest(c *Client, g GroupID) (cached, fresh bool, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		gc := c.groups[g]
		rec, err := t.GroupState(g)
		if err != nil || gc == nil {
			return err
		}
		cached = gc.healthy.set() && gc.healthy.is(rec.Schedule, rec.EpochMeta)
		s, m, err := loadV2(rec)
		if err != nil {
			return err
		}
		bad, err := t.unhealed(gc, s, m)
		fresh = !bad
		return err
	})
	return cached, fresh, err
}

// ForgetHealthyForTest drops what c's cache entry of g remembers as found healed.
func ForgetHealthyForTest(c *Client, g GroupID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gc := c.groups[g]; gc != nil {
		gc.healthy = healedState{}
	}
}

// HealthySharedForTest reports whether c's cache entry of group g holds what it found
// healed as the group view's own schedule and bookkeeping (the same arrays, no copy).
func HealthySharedForTest(c *Client, g GroupID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	gc, v := c.groups[g], c.hot.groups[g]
	return gc != nil && v != nil && gc.healthy.set() && len(v.EpochMeta) > 0 &&
		unsafe.SliceData(gc.healthy.meta) == unsafe.SliceData(v.EpochMeta) &&
		unsafe.SliceData(gc.healthy.schedule) == unsafe.SliceData(v.Schedule)
}

// SendEpochSharedForTest reports whether c's send epoch of group g is keyed by the group
// view's own schedule and bookkeeping (the same arrays, no copy).
func SendEpochSharedForTest(c *Client, g GroupID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	se, ok := c.hot.sendEpochs[g]
	v := c.hot.groups[g]
	return ok && v != nil && len(v.EpochMeta) > 0 &&
		unsafe.SliceData(se.meta) == unsafe.SliceData(v.EpochMeta) &&
		unsafe.SliceData(se.schedule) == unsafe.SliceData(v.Schedule)
}

// OwnInstallationForTest returns c's installation id.
func OwnInstallationForTest(c *Client) InstallationID { return c.acct.inst }
