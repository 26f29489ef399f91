package protocol

import (
	"slices"

	"github.com/chorus-im/chorus/epoch"
)

// SetCommitHookForTest makes every transaction of c run f last: an error fails the
// transaction (rolled back, as a store refusing the commit would). nil removes it.
func SetCommitHookForTest(c *Client, f func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookCommit = f
}

// CachedGroupForTest returns what c's in-memory cache holds of group g: its members and
// the id of its current epoch (zero: none).
func CachedGroupForTest(c *Client, g GroupID) (members []string, current epoch.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gc := c.groups[g]
	if gc == nil {
		return nil, epoch.ID{}
	}
	if gc.cur != nil {
		current = gc.cur.ID
	}
	return slices.Clone(gc.state.Members), current
}
