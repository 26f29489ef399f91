package protocol

import (
	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// SetSlotSeedHookForTest has c seal, in the slot of every key block it authors for
// installation to, the seed f returns instead of the event's (a misbehaving author).
func SetSlotSeedHookForTest(c *Client, f func(to InstallationID, seed epoch.Seed) epoch.Seed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookSlotSeed = f
}

// SetSlotTargetsHookForTest has c give, in every key block it authors, a slot to the
// installations f returns instead of the ones it would (a misbehaving author).
func SetSlotTargetsHookForTest(c *Client, f func(targets []storage.InstallationRecord) []storage.InstallationRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookSlotTargets = f
}

// SetLegacyBlocksForTest has c author its key blocks as version 2 blocks (SHA-256 slot
// hints), as an older version does.
func SetLegacyBlocksForTest(c *Client, legacy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookLegacyBlocks = legacy
}

// SetLegacyIDsForTest has c author its rekeys as version 3 blocks (the legacy rekey id,
// committing to no prev), as an older version does.
func SetLegacyIDsForTest(c *Client, legacy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookLegacyIDs = legacy
}
