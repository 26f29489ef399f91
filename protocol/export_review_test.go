package protocol

import (
	"context"
	"errors"

	"github.com/chorus-im/chorus/epoch"
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
