package protocol

import "github.com/chorus-im/chorus/epoch"

// RecordedForTest returns how many provisional events c's stored schedule of g keeps a
// record of (-1 without a schedule).
func RecordedForTest(c *Client, g GroupID) int {
	return scheduleCount(c, g, func(s *epoch.Schedule) int { return len(s.Recorded()) })
}
