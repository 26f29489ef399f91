package node

import (
	"github.com/chorus-im/chorus/transport"

	"context"
	"sync"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// flushTracker records the publishes of a short-lived node, so that it can wait until they
// have left before it closes: a relay publish returns once pubsub queued the message,
// and closing the node at once could drop it.
type flushTracker struct {
	protocol.Transport
	mu   sync.Mutex
	pubs []published
}

// RateLimit and Quota forward the node's rate limit (RLN) to the engine.
func (t *flushTracker) RateLimit() (int, time.Duration) {
	if rl, ok := t.Transport.(transport.RateLimiter); ok {
		return rl.RateLimit()
	}
	return 0, 0
}

func (t *flushTracker) Quota(now time.Time) transport.Quota {
	if rl, ok := t.Transport.(transport.RateLimiter); ok {
		return rl.Quota(now)
	}
	return transport.Quota{}
}

type published struct {
	topic string
	hash  [32]byte
	at    time.Time
}

func (t *flushTracker) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	h, err := t.Transport.Publish(ctx, topic, payload)
	if err == nil {
		t.mu.Lock()
		t.pubs = append(t.pubs, published{topic, h, time.Now()})
		t.mu.Unlock()
	}
	return h, err
}

// FlushWait bounds how long Flush waits for the store to show the publishes.
const FlushWait = 10 * time.Second

// flush waits until every publish is in a store peer's history (then it certainly left
// this node), or, without a reachable store, a short grace period. It returns the number
// of publishes it could not confirm.
func (t *flushTracker) flush(ctx context.Context, wait time.Duration) int {
	t.mu.Lock()
	pending := append([]published(nil), t.pubs...)
	t.mu.Unlock()
	if len(pending) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		var rest []published
		byTopic := map[string][]published{}
		for _, p := range pending {
			byTopic[p.topic] = append(byTopic[p.topic], p)
		}
		for topic, ps := range byTopic {
			since := ps[0].at
			for _, p := range ps {
				since = minTime(since, p.at)
			}
			envs, err := t.History(ctx, []string{topic}, since.Add(-time.Minute), time.Time{})
			if err != nil {
				// No store to ask: give the relay a moment to send, then trust it.
				select {
				case <-time.After(min(time.Second, wait)):
				case <-ctx.Done():
				}
				return 0
			}
			seen := map[[32]byte]bool{}
			for _, e := range envs {
				seen[e.Hash] = true
			}
			for _, p := range ps {
				if !seen[p.hash] {
					rest = append(rest, p)
				}
			}
		}
		if len(rest) == 0 {
			return 0
		}
		pending = rest
		select {
		case <-ctx.Done():
			return len(pending)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

var _ protocol.Transport = (*flushTracker)(nil)
