package memory

import (
	"context"
	"slices"
	"time"

	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/internal/fanout"
)

// Node is one client's connection to a Network. Its methods are safe for concurrent use.
type Node struct {
	name     string
	net      *Network
	hub      *fanout.Hub
	counters fanout.Counters

	// Guarded by net.mu.
	closed bool
	held   []*item // reordered copies waiting to be overtaken
}

// Name returns the client name the node joined with.
func (nd *Node) Name() string { return nd.name }

// Publish sends payload on the content topic and returns its hash. It fails with
// transport.ErrNoPeers while the client is offline, and with transport.ErrRateLimited
// when the client used up its quota of the epoch (Config.RateLimit).
func (nd *Node) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	if err := transport.CheckPublish(topic, payload); err != nil {
		return [32]byte{}, err
	}
	if err := ctx.Err(); err != nil {
		return [32]byte{}, err
	}
	if nd.isClosed() {
		return [32]byte{}, transport.ErrClosed
	}
	return nd.net.publish(nd, topic, payload)
}

// Subscribe returns a channel of the messages on topics that reach the node from now
// on; it is closed when ctx ends or the node closes.
func (nd *Node) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	return nd.hub.Subscribe(ctx, topics)
}

// History returns the stored messages on topics with since <= Timestamp <= until (zero
// times are unbounded), ordered by (Timestamp, Hash). It never truncates an answer (no
// transport.ErrHistoryTruncated): Config.HistoryLimit bounds what is stored, not what
// one answer returns.
func (nd *Node) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if err := transport.CheckTopics(topics); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if nd.isClosed() {
		return nil, transport.ErrClosed
	}
	out, err := nd.net.historyOf(nd, topics, since, until)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b transport.Envelope) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
	return out, nil
}

// RateLimit returns the network's Config.RateLimit (0: unlimited) and epoch length
// (transport.RateLimiter).
func (nd *Node) RateLimit() (messages int, epoch time.Duration) {
	return nd.net.cfg.RateLimit, nd.net.cfg.Epoch
}

// Quota returns the client's publish quota in the epoch containing now: the counter
// Publish consumes (transport.RateLimiter). Without a rate limit, Limit and Remaining
// are 0.
func (nd *Node) Quota(now time.Time) transport.Quota {
	n := nd.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cfg.RateLimit <= 0 {
		e, next := transport.EpochOf(now, n.cfg.Epoch)
		return transport.Quota{Epoch: e, ResetAt: next}
	}
	return n.quotaLocked(nd.name, now)
}

// Stats returns the node's counters.
func (nd *Node) Stats() Stats { return nd.counters.Stats() }

// Close leaves the network: subscriptions are closed and later calls fail with
// transport.ErrClosed. Idempotent.
func (nd *Node) Close() error {
	n := nd.net
	n.mu.Lock()
	if !nd.closed {
		nd.closed = true
		nd.held = nil
		n.nodes = slices.DeleteFunc(n.nodes, func(x *Node) bool { return x == nd })
	}
	n.mu.Unlock()
	nd.hub.Close()
	return nil
}

func (nd *Node) isClosed() bool {
	nd.net.mu.Lock()
	defer nd.net.mu.Unlock()
	return nd.closed
}

// arrive hands a copy to the node (net.mu held; never blocks).
func (nd *Node) arrive(it *item) {
	n := nd.net
	if it.flush {
		nd.release()
		return
	}
	if nd.closed {
		return
	}
	if n.offline[nd.name] {
		nd.counters.AddLost(1)
		return
	}
	if it.reorder {
		it.reorder = false
		nd.held = append(nd.held, it)
		n.sched.push(&item{due: time.Now().Add(n.cfg.ReorderHold), node: nd, flush: true})
		return
	}
	nd.hub.Deliver(it.env)
	nd.release()
}

// release delivers the held copies (net.mu held).
func (nd *Node) release() {
	held := nd.held
	nd.held = nil
	for _, h := range held {
		nd.arrive(h)
	}
}

// Subscribed reports whether the node has a live subscription on topic (tests wait for
// a client's subscription before publishing what it must receive live).
func (nd *Node) Subscribed(topic string) bool { return nd.hub.HasTopic(topic) }
