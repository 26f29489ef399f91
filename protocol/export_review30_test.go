package protocol

import (
	"context"

	"github.com/chorus-im/chorus/membership"
)

// MembershipStateForTest returns a copy of c's membership state of group g (review 30).
func MembershipStateForTest(c *Client, g GroupID) membership.State {
	var st membership.State
	err := c.tx(context.Background(), func(t *txn) error {
		_, gc, err := t.group(g)
		if err == nil {
			st = gc.state
		}
		return err
	})
	if err != nil {
		panic(err)
	}
	return st
}
