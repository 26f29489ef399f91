package chorustest

import (
	"context"

	"github.com/chorus-im/chorus/protocol"
)

// Running is a client at work: Client.Run on a goroutine, its events recorded.
type Running struct {
	Client *protocol.Client
	Events *Events

	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start subscribes to c's events (recorded into ev; a new Events if nil) and runs c until
// Stop or ctx ends. It does not close c.
func Start(ctx context.Context, c *protocol.Client, ev *Events) *Running {
	if ev == nil {
		ev = NewEvents()
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &Running{Client: c, Events: ev, cancel: cancel, done: make(chan struct{})}
	go ev.Collect(c.Subscribe(rctx))
	go func() {
		defer close(r.done)
		r.err = c.Run(rctx)
	}()
	return r
}

// Cancel asks Run to stop without waiting for it (Stop waits).
func (r *Running) Cancel() { r.cancel() }

// Stop stops Run, waits for it and returns its error (nil on a clean stop). It can be
// called again; the client stays open.
func (r *Running) Stop() error {
	r.cancel()
	<-r.done
	return r.err
}
