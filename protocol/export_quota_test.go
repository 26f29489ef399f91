package protocol

import "context"

// PublishEphemeral exposes publishEphemeral to the tests.
func PublishEphemeral(c *Client, ctx context.Context, topic string, payload []byte) error {
	return c.publishEphemeral(ctx, topic, payload)
}
