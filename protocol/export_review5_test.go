package protocol

import (
	"context"
	"errors"

	"github.com/chorus-im/chorus/epoch"
)

// FailedTxForTest runs a transaction of c that fails (rolled back): as a receive that
// ends pending, or any transaction whose work fails.
func FailedTxForTest(c *Client) error {
	return c.tx(context.Background(), func(*txn) error { return errors.New("review5: failed on purpose") })
}

// KeySeedForTest returns the seed c holds for key event id of group g.
func KeySeedForTest(c *Client, g GroupID, id epoch.ID) (seed epoch.Seed, ok bool) {
	_ = c.tx(context.Background(), func(t *txn) error {
		rec, _, err := t.group(g)
		if err != nil {
			return err
		}
		s, _, err := loadV2(rec)
		if err != nil {
			return err
		}
		seed, ok = s.Seed(id)
		return nil
	})
	return seed, ok
}
