package protocol

import (
	"slices"

	"github.com/chorus-im/chorus/membership"
)

// AddPendingForTest adds evs to the pending membership events of c's cached group g (not
// stored: what a receive that kept them pending leaves in the cache), as if they waited
// for their parents.
func AddPendingForTest(c *Client, g GroupID, evs ...membership.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gc := c.groups[g]
	gc.state.Pending = append(slices.Clone(gc.state.Pending), evs...)
}
