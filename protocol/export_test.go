package protocol

// SetStoredHook installs a hook run after an outbound message is stored and before it is
// published; if it returns an error the publish is skipped (a simulated crash).
func SetStoredHook(c *Client, f func() error) { c.hookStored = f }
