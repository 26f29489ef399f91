package protocol

import "github.com/chorus-im/chorus/epoch"

// RecordedForTest returns how many provisional events c's stored schedule of g keeps a
// record of (-1 without a schedule).
func RecordedForTest(c *Client, g GroupID) int {
	return scheduleCount(c, g, func(s *epoch.Schedule) int { return len(s.Recorded()) })
}

// HeldUnseenForTest returns the ids c's stored schedule of g holds on some author's word
// and never applied, and the records naming each (a debugging view of what keeps events
// provisional).
func HeldUnseenForTest(c *Client, g GroupID) map[epoch.ID]int {
	out := map[epoch.ID]int{}
	withScheduleForTest(c, g, func(s *epoch.Schedule) {
		for _, id := range s.Recorded() {
			prev, _, _ := s.Record(id)
			for _, p := range prev {
				if !s.Applied(p) {
					if _, rec, _ := s.Record(p); rec == nil {
						out[p]++
					}
				}
			}
		}
	})
	return out
}

// ScheduleSizeForTest returns the size of c's stored schedule of g, encoded (-1 without
// a schedule).
func ScheduleSizeForTest(c *Client, g GroupID) int {
	return scheduleCount(c, g, func(s *epoch.Schedule) int {
		b, err := s.MarshalBinary()
		if err != nil {
			return -1
		}
		return len(b)
	})
}
