package protocol

// SetAttemptedHook has f run after each inbound envelope's attempt released the engine's
// locks, before process returns (nil: none). Not safe while c runs.
func SetAttemptedHook(c *Client, f func(topic string, payload []byte)) { c.hookAttempted = f }
