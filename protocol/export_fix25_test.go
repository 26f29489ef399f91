package protocol

import (
	"context"

	"github.com/chorus-im/chorus/membership"
)

// StepDownForTest makes c's account give up its admin right in group g (ADMIN_REMOVED,
// target its author: spec membership, causal rules 2): the engine has no call for it.
func StepDownForTest(c *Client, g GroupID) error {
	return c.simpleEvent(context.Background(), g, membership.Event{Type: membership.AdminRemoved, Members: membership.MembersOf(c.acct.id)})
}
