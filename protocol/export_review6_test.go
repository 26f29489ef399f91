package protocol

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/chorus-im/chorus/epoch"
)

// CatchUpForTest returns the topics c's subscriptions loop is asked to sync at once
// (catchUpFromWelcome), sorted.
func CatchUpForTest(c *Client) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.catchUp))
}

// LastSyncForTest returns c's sync point of topic.
func LastSyncForTest(c *Client, topic string) time.Time {
	var last time.Time
	_ = c.tx(context.Background(), func(t *txn) error {
		var err error
		last, err = t.LastSync(topic)
		return err
	})
	return last
}

// JunkProbeForTest puts a made-up envelope hash into c's junk filter and returns a
// function reporting whether the filter still holds it (false: the filter was cleared).
func JunkProbeForTest(c *Client) func() bool {
	h := [32]byte{0x6a, 0x75, 0x6e, 0x6b, 0x72, 0x36}
	c.junk.add(h)
	return func() bool { return c.junk.has(h) }
}

// KeyEventPrevForTest returns the prev set c's key schedule of group g records for frontier
// event id (nil if none).
func KeyEventPrevForTest(c *Client, g GroupID, id epoch.ID) epoch.Frontier {
	var prev epoch.Frontier
	withScheduleForTest(c, g, func(s *epoch.Schedule) { prev = s.Prev(id) })
	return prev
}
