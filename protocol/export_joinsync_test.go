package protocol

import (
	"context"
	"time"
)

// MarkJoinSyncForTest moves c's last sync of topic back to since as a Welcome's join does
// (markJoinSync), in its own transaction.
func MarkJoinSyncForTest(c *Client, topic string, since time.Time) error {
	return c.tx(context.Background(), func(t *txn) error { return t.markJoinSync(topic, since) })
}
