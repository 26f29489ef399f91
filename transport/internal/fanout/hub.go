package fanout

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// Hub fans received envelopes out to subscriptions by content topic, after
// de-duplicating them by hash. Deliver never blocks.
type Hub struct {
	counters   *Counters
	queueSize  int
	onOverflow func(topic string)

	mu      sync.Mutex
	closed  bool
	byTopic map[string]map[*sub]struct{}
	seen    *seenSet
	changed chan struct{} // signalled (non-blocking) when the topic set changes

	done chan struct{}
	wg   sync.WaitGroup

	wakeEvery time.Duration // SetWakeEvery (0: every envelope wakes at once)
}

// SetWakeEvery makes DeliverLazy wake a subscription goroutine parked for want of
// envelopes at most once per d: the first envelope after a quiet period wakes it at once,
// those arriving within d of that wake-up wait for the next one (a timer's, or Deliver's),
// and go together. The memory transport delivers a node's own publishes to its own
// subscriptions on the publisher's goroutine, which paid a futex wake-up of the
// subscriber for every publish of a stream (issue 16). Queueing, counters,
// de-duplication and overflows are unchanged (decided in DeliverLazy); only the hand-off
// to the channel may wait, at most d. Call before Subscribe.
func (h *Hub) SetWakeEvery(d time.Duration) { h.wakeEvery = max(d, 0) }

// NewHub returns a hub that counts into c. queueSize <= 0 means transport.QueueSize;
// dedupWindow <= 0 means transport.DedupWindow. onOverflow, if not nil, is called (with
// the hub locked: it must not call back into the hub) when a subscription queue is full.
func NewHub(c *Counters, queueSize, dedupWindow int, onOverflow func(topic string)) *Hub {
	if queueSize <= 0 {
		queueSize = transport.QueueSize
	}
	if dedupWindow <= 0 {
		dedupWindow = transport.DedupWindow
	}
	return &Hub{
		counters:   c,
		queueSize:  queueSize,
		onOverflow: onOverflow,
		byTopic:    make(map[string]map[*sub]struct{}),
		seen:       newSeenSet(dedupWindow),
		changed:    make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
}

// sub is one subscription: a FIFO queue drained into out by its own goroutine.
type sub struct {
	topics []string
	out    chan transport.Envelope
	notify chan struct{} // cap 1

	mu   sync.Mutex
	q    []transport.Envelope
	head int
	// Wake-up coalescing (Hub.SetWakeEvery): idle is set while the goroutine found the
	// queue empty and waits on notify; woke is when push or the timer last woke it.
	wakeEvery time.Duration
	idle      bool
	woke      time.Time
	timer     *time.Timer
	armed     bool
}

func (s *sub) push(e transport.Envelope, limit int, lazy bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q)-s.head >= limit {
		return false
	}
	s.q = append(s.q, e)
	if lazy && s.wakeEvery > 0 && s.idle {
		now := time.Now()
		if wait := s.wakeEvery - now.Sub(s.woke); wait > 0 {
			// Woken less than wakeEvery ago: the next wake-up is the timer's.
			if !s.armed {
				s.armed = true
				if s.timer == nil {
					s.timer = time.AfterFunc(wait, s.wakeLater)
				} else {
					s.timer.Reset(wait)
				}
			}
			return true
		}
		s.idle, s.woke = false, now
	}
	s.signal()
	return true
}

// signal wakes the goroutine (non-blocking: notify holds one signal).
func (s *sub) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// wakeLater is the timer's wake-up of a coalescing subscription.
func (s *sub) wakeLater() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	if s.idle && s.head < len(s.q) {
		s.idle, s.woke = false, time.Now()
		s.signal()
	}
}

func (s *sub) pop() (transport.Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == len(s.q) {
		s.q, s.head = s.q[:0], 0
		s.idle = true // the goroutine waits on notify next
		return transport.Envelope{}, false
	}
	e := s.q[s.head]
	s.q[s.head] = transport.Envelope{}
	s.head++
	s.idle = false
	if s.head > 1024 && s.head*2 > len(s.q) { // compact
		n := copy(s.q, s.q[s.head:])
		clear(s.q[n:])
		s.q, s.head = s.q[:n], 0
	}
	return e, true
}

// Subscribe registers a subscription on topics. The returned channel is closed when
// ctx ends or the hub closes.
func (h *Hub) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	if err := transport.CheckTopics(topics); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ts := slices.Clone(topics)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	s := &sub{topics: ts, out: make(chan transport.Envelope), notify: make(chan struct{}, 1), wakeEvery: h.wakeEvery}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, transport.ErrClosed
	}
	grew := false
	for _, t := range ts {
		m := h.byTopic[t]
		if m == nil {
			m = make(map[*sub]struct{})
			h.byTopic[t] = m
			grew = true
		}
		m[s] = struct{}{}
	}
	h.wg.Add(1)
	h.mu.Unlock()
	if grew {
		h.signal()
	}
	go h.run(ctx, s)
	return s.out, nil
}

func (h *Hub) run(ctx context.Context, s *sub) {
	defer h.wg.Done()
	defer close(s.out)
	defer h.remove(s)
	for {
		e, ok := s.pop()
		if !ok {
			select {
			case <-s.notify:
				continue
			case <-ctx.Done():
				return
			case <-h.done:
				return
			}
		}
		select {
		case s.out <- e:
			h.counters.addDelivery()
		case <-ctx.Done():
			return
		case <-h.done:
			return
		}
	}
}

func (h *Hub) remove(s *sub) {
	h.mu.Lock()
	shrank := false
	for _, t := range s.topics {
		if m := h.byTopic[t]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.byTopic, t)
				shrank = true
			}
		}
	}
	h.mu.Unlock()
	if shrank {
		h.signal()
	}
}

func (h *Hub) signal() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled (coalesced) whenever the set of subscribed topics changes.
func (h *Hub) Changed() <-chan struct{} { return h.changed }

// Topics returns the sorted set of topics with at least one subscription.
func (h *Hub) Topics() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.byTopic))
	for t := range h.byTopic {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// HasTopic reports whether some subscription wants topic.
func (h *Hub) HasTopic(topic string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byTopic[topic]) > 0
}

// Deliver hands e to every subscription on e.Topic, unless its hash was already
// delivered. Each subscription gets its own copy of the payload; e.Payload is not
// retained. It never blocks and reports whether e was new and wanted.
func (h *Hub) Deliver(e transport.Envelope) bool { return h.deliver(e, false) }

// DeliverLazy is Deliver, except that a subscription goroutine waiting for envelopes
// may be woken later, at most SetWakeEvery's period (the order of envelopes is kept).
func (h *Hub) DeliverLazy(e transport.Envelope) bool { return h.deliver(e, true) }

func (h *Hub) deliver(e transport.Envelope, lazy bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.byTopic[e.Topic]
	if h.closed || len(subs) == 0 {
		return false
	}
	h.counters.addReceived()
	if !h.seen.add(e.Hash) {
		h.counters.addDuplicate()
		return false
	}
	for s := range subs {
		c := e
		c.Payload = append([]byte(nil), e.Payload...)
		if !s.push(c, h.queueSize, lazy) {
			h.counters.addOverflow()
			if h.onOverflow != nil {
				h.onOverflow(e.Topic)
			}
		}
	}
	return true
}

// Close closes every subscription channel and waits for their goroutines. Later
// Subscribe calls fail with transport.ErrClosed. Idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.wg.Wait()
}
