package chorustest

import (
	"context"
	"time"
)

// PollInterval is how often Poll checks its condition.
const PollInterval = 20 * time.Millisecond

// Poll checks cond every PollInterval until it holds, the timeout passes or ctx ends,
// and reports whether it held. For conditions on a client's state (its store, its
// contacts); a condition on its events is Events.Await.
func Poll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond(ctx) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(PollInterval)
	}
	return true
}
