package protocol

import "github.com/chorus-im/chorus/epoch"

// KnownKeyEventForTest reports whether c's key schedule of group g knows event id (applied
// or superseded: known).
func KnownKeyEventForTest(c *Client, g GroupID, id epoch.ID) bool {
	k := false
	withScheduleForTest(c, g, func(s *epoch.Schedule) { k = known(s, id) })
	return k
}
