package protocol

// WithoutWorkAhead makes c's Syncs run without the work ahead (ahead.go), as while
// another Sync holds it.
func WithoutWorkAhead(c *Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hot.verifying = true
}

// WorkAheadUsed returns how many frames and decrypted messages c's processing took from
// the work ahead.
func WorkAheadUsed(c *Client) (frames, messages uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hot.aheadUsed[0], c.hot.aheadUsed[1]
}
