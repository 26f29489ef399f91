// Package memory is an in-process Waku stand-in for tests and simulations: a bus shared
// by many nodes, with knobs for loss, duplication, reordering, delay and jitter, clients
// going offline, a history store, a deterministic random source and counters.
//
// Semantics match transport/waku (see package transport): de-duplication by hash at the
// receiving node, self-delivery, bounded subscription queues with counted overflows,
// History with inclusive bounds. Hashes are computed exactly as Waku does
// (transport.MessageHash over the pubsub topic topics.DefaultPubsubTopic).
//
// Fault model. Knobs apply per message and per receiving node (the publisher's own
// subscriptions get their copy immediately and reliably, as with a local Waku relay):
//   - DropRate: the copy is lost (counted in Stats.Lost).
//   - DuplicateRate: a second copy is delivered, with its own delay (the node suppresses
//     it: Stats.Duplicates).
//   - Delay ± Jitter: uniform in [Delay-Jitter, Delay+Jitter], at least 0.
//   - ReorderRate: the copy is held back and delivered right after the next copy to the
//     same node, or after ReorderHold if none comes; so it is overtaken.
//   - SetOffline(name, true): the client's nodes miss live traffic (counted as Lost),
//     and Publish and History fail with transport.ErrNoPeers until it is back online.
//
// The history store (Config.History) keeps every published message, whatever the fault
// knobs did to live copies, like a reliable Waku store node.
//
// Self-delivery wake-ups: a node's subscription goroutine waiting for envelopes is woken
// for the node's own publishes at once after a quiet period, then at most once per
// WakeEvery (a timer's wake-up, or another node's envelope: its own in between wait, at
// most WakeEvery, and arrive together, in order). Publish delivers on the publisher's
// goroutine, and waking its own subscriber there for every message of a stream cost the
// publisher a futex call each time (issue 16). Queues and counters are decided at
// Publish as before, and other nodes' copies are handed over at once.
//
// Determinism: all random choices come from one generator seeded with Config.Seed and
// are drawn at Publish time, in publish order, for recipients in join order; timestamps
// come from Config.Now and are made strictly increasing across the network. With the
// same sequence of calls, the same messages are lost, duplicated and held back.
// Delivery timing uses the wall clock.
package memory

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/internal/fanout"
)

// Stats are the counters of a node or of the whole network.
type Stats = transport.Stats

// Config sets the behaviour of a Network. The zero value is a perfect network without a
// history store.
type Config struct {
	// Seed seeds the random generator behind every fault decision.
	Seed int64
	// DropRate, DuplicateRate and ReorderRate are probabilities in [0, 1].
	DropRate, DuplicateRate, ReorderRate float64
	// Delay is the base latency of a delivery; Jitter spreads it uniformly by ±Jitter.
	Delay, Jitter time.Duration
	// ReorderHold bounds how long a reordered copy waits to be overtaken
	// (0 means 10ms).
	ReorderHold time.Duration
	// History enables the history store used by Node.History.
	History bool
	// HistoryLimit caps the stored messages, oldest evicted first (0: unlimited).
	HistoryLimit int
	// QueueSize is each subscription's queue capacity (0: transport.QueueSize).
	QueueSize int
	// Now is the clock for message timestamps and rate-limit epochs (nil: time.Now).
	Now func() time.Time
	// RateLimit, if positive, lets each client publish at most RateLimit messages per
	// Epoch (an RLN stand-in): Publish beyond it fails with transport.ErrRateLimited and
	// Node implements transport.RateLimiter. The count is kept per client name by the
	// network, so a client that restarts (Close, Join) within an epoch cannot exceed it.
	RateLimit int
	// Epoch is the rate-limit epoch (0: one second).
	Epoch time.Duration
	// Tap, if set, is called with every message published (and the publishing client's
	// name), in publish order, with the network locked: it must not call the network.
	Tap func(from string, env transport.Envelope)
}

// WakeEvery bounds how often a node's idle subscription is woken for the node's own
// publishes (see Self-delivery wake-ups above).
const WakeEvery = time.Millisecond

// Network is a simulated Waku network. Its methods are safe for concurrent use.
type Network struct {
	cfg      Config
	counters fanout.Counters

	mu      sync.Mutex
	closed  bool
	rng     *rand.Rand
	nodes   []*Node // live nodes, in join order
	offline map[string]bool
	lastTS  int64
	history []transport.Envelope // in publish order
	sched   scheduler
	quota   map[string]*quotaUse // per client name (RateLimit)
}

// quotaUse is the publishes of a client in its last epoch.
type quotaUse struct {
	epoch uint64
	used  int
}

// NewNetwork returns a network with the given behaviour. Rates are clamped to [0, 1].
func NewNetwork(cfg Config) *Network {
	clamp := func(p float64) float64 { return min(max(p, 0), 1) }
	cfg.DropRate, cfg.DuplicateRate, cfg.ReorderRate = clamp(cfg.DropRate), clamp(cfg.DuplicateRate), clamp(cfg.ReorderRate)
	cfg.Delay, cfg.Jitter = max(cfg.Delay, 0), max(cfg.Jitter, 0)
	if cfg.ReorderHold <= 0 {
		cfg.ReorderHold = 10 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seed := uint64(cfg.Seed)
	n := &Network{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		offline: make(map[string]bool),
		quota:   make(map[string]*quotaUse),
	}
	if cfg.Epoch <= 0 {
		n.cfg.Epoch = time.Second
	}
	n.sched.net = n
	return n
}

// Join adds a node for the client name. Several nodes may share a name (a client that
// restarted: Close the old node and Join again); offline state is per name and outlives
// nodes. Joining a closed network returns a closed node.
func (n *Network) Join(name string) *Node {
	nd := &Node{name: name, net: n}
	nd.counters.Parent = &n.counters
	nd.hub = fanout.NewHub(&nd.counters, n.cfg.QueueSize, 0, nil)
	nd.hub.SetWakeEvery(WakeEvery)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		nd.closed = true
		nd.hub.Close()
		return nd
	}
	n.nodes = append(n.nodes, nd)
	return nd
}

// SetOffline takes the client name off the network (or brings it back). While offline,
// its nodes miss live messages, and their Publish and History fail with
// transport.ErrNoPeers; messages in flight to it when it goes offline are lost.
func (n *Network) SetOffline(name string, offline bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if offline {
		n.offline[name] = true
	} else {
		delete(n.offline, name)
	}
}

// Stats returns the totals over every node that ever joined.
func (n *Network) Stats() Stats { return n.counters.Stats() }

// Close closes every node and stops pending deliveries. Idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	nodes := slices.Clone(n.nodes)
	n.mu.Unlock()
	for _, nd := range nodes {
		_ = nd.Close()
	}
	n.sched.stop()
	return nil
}

// publish stamps, stores and routes a message from nd. Called with nothing locked.
func (n *Network) publish(nd *Node, topic string, payload []byte) ([32]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return [32]byte{}, transport.ErrClosed
	}
	if n.offline[nd.name] {
		return [32]byte{}, fmt.Errorf("memory: %q is offline: %w", nd.name, transport.ErrNoPeers)
	}
	now := n.cfg.Now()
	if n.cfg.RateLimit > 0 {
		q := n.quotaLocked(nd.name, now)
		if q.Remaining <= 0 {
			return [32]byte{}, fmt.Errorf("memory: %q: %w (epoch %d, resets at %s)", nd.name, transport.ErrRateLimited, q.Epoch, q.ResetAt.Format(time.RFC3339Nano))
		}
		u := n.quota[nd.name]
		if u == nil || u.epoch != q.Epoch {
			u = &quotaUse{epoch: q.Epoch}
			n.quota[nd.name] = u
		}
		u.used++
	}
	ts := now.UnixNano()
	if ts <= n.lastTS {
		ts = n.lastTS + 1
	}
	n.lastTS = ts
	env := transport.Envelope{
		Topic:     topic,
		Payload:   slices.Clone(payload),
		Hash:      transport.MessageHash(topics.DefaultPubsubTopic, topic, payload, ts),
		Timestamp: time.Unix(0, ts),
	}
	if n.cfg.History {
		n.history = append(n.history, env)
		if l := n.cfg.HistoryLimit; l > 0 && len(n.history) > l {
			n.history = slices.Delete(n.history, 0, len(n.history)-l)
		}
	}
	nd.counters.Published(len(payload))
	if n.cfg.Tap != nil {
		n.cfg.Tap(nd.name, env)
	}

	nd.hub.DeliverLazy(env) // self-delivery: immediate, reliable (its wake-up coalesced)
	wall := time.Now()
	for _, r := range n.nodes {
		if r == nd || !r.hub.HasTopic(topic) {
			continue
		}
		if n.offline[r.name] || n.chance(n.cfg.DropRate) {
			r.counters.AddLost(1)
			continue
		}
		copies := 1
		if n.chance(n.cfg.DuplicateRate) {
			copies = 2
		}
		for range copies {
			it := &item{node: r, env: env, reorder: n.chance(n.cfg.ReorderRate)}
			d := n.delay()
			if d == 0 {
				r.arrive(it) // a reordered copy is held right away
				continue
			}
			it.due = wall.Add(d)
			n.sched.push(it)
		}
	}
	return env.Hash, nil
}

// quotaLocked returns the quota of client name at now (n.mu held).
func (n *Network) quotaLocked(name string, now time.Time) transport.Quota {
	e, next := transport.EpochOf(now, n.cfg.Epoch)
	q := transport.Quota{Epoch: e, Limit: n.cfg.RateLimit, Remaining: n.cfg.RateLimit, ResetAt: next}
	if u := n.quota[name]; u != nil && u.epoch == e {
		q.Remaining = max(q.Limit-u.used, 0)
	}
	return q
}

func (n *Network) chance(p float64) bool {
	switch p {
	case 0:
		return false
	case 1:
		return true
	}
	return n.rng.Float64() < p
}

func (n *Network) delay() time.Duration {
	d := n.cfg.Delay
	if j := n.cfg.Jitter; j > 0 {
		d += time.Duration(n.rng.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

// history returns the stored messages matching the query.
func (n *Network) historyOf(nd *Node, topicSet []string, since, until time.Time) ([]transport.Envelope, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, transport.ErrClosed
	}
	if !n.cfg.History {
		return nil, fmt.Errorf("memory: history store disabled: %w", transport.ErrNoHistory)
	}
	if n.offline[nd.name] {
		return nil, fmt.Errorf("memory: %q is offline: %w", nd.name, transport.ErrNoPeers)
	}
	var out []transport.Envelope
	for _, e := range n.history {
		if !slices.Contains(topicSet, e.Topic) ||
			(!since.IsZero() && e.Timestamp.Before(since)) ||
			(!until.IsZero() && e.Timestamp.After(until)) {
			continue
		}
		e.Payload = slices.Clone(e.Payload)
		out = append(out, e)
	}
	return out, nil
}

// item is one copy of a message on its way to a node.
type item struct {
	due     time.Time
	seq     uint64
	node    *Node
	env     transport.Envelope
	reorder bool // hold back until overtaken
	flush   bool // release the node's held copies
}

// scheduler delivers delayed copies in due order from one goroutine, which runs only
// while copies are pending.
type scheduler struct {
	net     *Network
	q       itemHeap
	seq     uint64
	running bool
	stopped bool
	wake    chan struct{}
	done    chan struct{}
}

// push queues it; n.mu is held.
func (s *scheduler) push(it *item) {
	if s.stopped {
		return
	}
	s.seq++
	it.seq = s.seq
	heap.Push(&s.q, it)
	if !s.running {
		s.running = true
		s.wake = make(chan struct{}, 1)
		s.done = make(chan struct{})
		go s.loop(s.wake, s.done)
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) loop(wake, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	n := s.net
	for {
		n.mu.Lock()
		if s.stopped || len(s.q) == 0 {
			s.running = false
			n.mu.Unlock()
			return
		}
		it := s.q[0]
		if wait := time.Until(it.due); wait > 0 {
			n.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-wake:
				timer.Stop() // Go >= 1.23 timers: no stale value can be received later
			}
			continue
		}
		heap.Pop(&s.q)
		it.node.arrive(it) // under n.mu: arrive never blocks
		n.mu.Unlock()
	}
}

// stop discards pending copies and waits for the goroutine.
func (s *scheduler) stop() {
	n := s.net
	n.mu.Lock()
	s.stopped = true
	s.q = nil
	done, wake := s.done, s.wake
	running := s.running
	n.mu.Unlock()
	if running {
		select {
		case wake <- struct{}{}:
		default:
		}
		<-done
	}
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
