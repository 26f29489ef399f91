package chorustest

import (
	"context"
	"sync"

	"github.com/chorus-im/chorus/transport"
)

// Subscriber is the part of a transport a Tap listens on.
type Subscriber interface {
	Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error)
}

// Tap records every envelope that reaches a transport node on some topics, as an
// observer on the network would see them (what a removed member's node still receives,
// what a passive listener learns from sizes and topics).
type Tap struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	envs []transport.Envelope
}

// NewTap subscribes node to topics and records what arrives until Stop (or ctx ends).
func NewTap(ctx context.Context, node Subscriber, topics ...string) (*Tap, error) {
	ctx, cancel := context.WithCancel(ctx)
	ch, err := node.Subscribe(ctx, topics)
	if err != nil {
		cancel()
		return nil, err
	}
	tp := &Tap{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tp.done)
		for e := range ch {
			tp.mu.Lock()
			tp.envs = append(tp.envs, e)
			tp.mu.Unlock()
		}
	}()
	return tp, nil
}

// Envelopes returns what arrived so far, in order.
func (tp *Tap) Envelopes() []transport.Envelope {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]transport.Envelope(nil), tp.envs...)
}

// Stop ends the subscription and returns everything that arrived.
func (tp *Tap) Stop() []transport.Envelope {
	tp.cancel()
	<-tp.done
	return tp.Envelopes()
}
