package protocol

import "github.com/chorus-im/chorus/epoch"

// SetSlotSeedHookForTest has c seal, in the slot of every key block it authors for
// installation to, the seed f returns instead of the event's (a misbehaving author).
func SetSlotSeedHookForTest(c *Client, f func(to InstallationID, seed epoch.Seed) epoch.Seed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookSlotSeed = f
}
