package sim

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// gate holds an installation's inbound envelopes back while closed, so that a sender's
// work and each receiver's work can be measured in separate windows. Envelopes wait in
// the memory node's subscription queue (transport.QueueSize) and in the forwarder.
type gate struct {
	mu   sync.Mutex
	open bool
	ch   chan struct{} // closed while open
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if open == g.open {
		return
	}
	g.open = open
	if open {
		close(g.ch)
	} else {
		g.ch = make(chan struct{})
	}
}

// wait blocks until the gate is open or ctx ends.
func (g *gate) wait(ctx context.Context) bool {
	for {
		g.mu.Lock()
		if g.open {
			g.mu.Unlock()
			return true
		}
		ch := g.ch
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// gatedNode is the protocol.Transport of one simulated installation: a memory node with
// counters (publishes, bytes both ways, thread CPU spent inside Publish) and a gate on
// the inbound side.
type gatedNode struct {
	node        *memory.Node
	gate        *gate
	onSubscribe func(topic string)
	big         *oversize

	pubs, pubBytes, pubErrs atomic.Int64
	pubCPU                  atomic.Int64 // thread CPU inside node.Publish (valid on a locked thread)
	pubFlt, pubInvol        atomic.Int64 // the thread's minor faults, involuntary switches inside it
	rxEnvs, rxBytes         atomic.Int64 // envelopes that reached this installation
	subs                    atomic.Int64 // Subscribe calls
	pending                 atomic.Int64 // envelopes taken off the bus, not yet handed to the client
	cancelled               atomic.Int64 // envelopes the client's cancelled subscriptions never took

	// For a stall's diagnosis (diagnose.go): idx is the installation, rx the cluster's
	// log of receipts (set while an operation is measured), captured the publishes made
	// while capturing (the measured sender's, during its call).
	idx           int
	rx            *atomic.Pointer[rxLog]
	capMu         sync.Mutex
	capturing     bool
	captured      []published
	capturedBytes int
}

func (t *gatedNode) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	c0 := threadCPU()
	_, _, _, f0, _, _, i0 := usage(true)
	wire := payload
	if t.big != nil {
		t.big.observe(len(payload))
	}
	if t.big != nil && len(payload) >= stashMin && (!t.big.byValue || len(payload) > transport.MaxPayload) {
		if len(payload) > transport.MaxPayload {
			t.big.count.Add(1)
		}
		wire = t.big.stash(topic, payload)
	}
	h, err := t.node.Publish(ctx, topic, wire)
	_, _, _, f1, _, _, i1 := usage(true)
	t.pubFlt.Add(f1 - f0)
	t.pubInvol.Add(i1 - i0)
	t.pubCPU.Add(threadCPU() - c0)
	if err != nil {
		t.pubErrs.Add(1)
		return h, err
	}
	t.capMu.Lock()
	if t.capturing && len(t.captured) < maxCaptured {
		p := published{topic: topic, hash: h, size: len(payload)}
		if len(payload) <= maxCapturedPayload {
			p.payload = payload // not copied: the engine never writes to a published payload
		}
		t.captured = append(t.captured, p)
	}
	t.capMu.Unlock()
	t.pubs.Add(1)
	t.pubBytes.Add(int64(len(payload)))
	return h, nil
}

func (t *gatedNode) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	src, err := t.node.Subscribe(ctx, topics)
	if err != nil {
		return nil, err
	}
	t.subs.Add(1)
	out := make(chan transport.Envelope)
	if t.big != nil {
		t.big.subscribed(topics, 1)
	}
	// The reader takes every envelope off the bus as it arrives (so it is counted in
	// the step that sent it, and the bus's bounded queue never fills); the writer hands
	// them to the client while the gate is open.
	q := &inbound{notify: make(chan struct{}, 1)}
	go func() {
		for env := range src {
			n := len(env.Payload)
			if t.big != nil {
				n = t.big.size(env.Payload)
			}
			t.rxEnvs.Add(1)
			t.rxBytes.Add(int64(n))
			if t.rx != nil {
				if l := t.rx.Load(); l != nil {
					l.mark(t.idx, env.Hash, rxGot)
				}
			}
			if q.push(env) {
				t.pending.Add(1)
			}
		}
		q.push(transport.Envelope{}) // end marker
	}()
	go func() {
		defer close(out)
		if t.big != nil {
			defer t.big.subscribed(topics, -1)
		}
		// Whatever the client will never take (it unsubscribed) is not pending.
		defer func() {
			n := q.close()
			t.pending.Add(-n)
			t.cancelled.Add(n)
		}()
		for {
			env, ok := q.pop(ctx)
			if !ok || env.Topic == "" {
				return
			}
			if !t.gate.wait(ctx) {
				t.pending.Add(-1)
				t.cancelled.Add(1)
				return
			}
			if t.big != nil {
				env.Payload = t.big.fetch(env.Payload)
			}
			// Marked handed before the send: once the client has it, it may store the
			// message and a waiter see it before this goroutine runs again (a diagnosis
			// then would read "not handed"). Unmarked if the send never happens.
			var l *rxLog
			if t.rx != nil {
				l = t.rx.Load()
			}
			if l != nil {
				l.mark(t.idx, env.Hash, rxHanded)
			}
			select {
			case out <- env:
				t.pending.Add(-1)
			case <-ctx.Done():
				if l != nil {
					l.unmark(t.idx, env.Hash, rxHanded)
				}
				t.pending.Add(-1)
				t.cancelled.Add(1)
				return
			}
		}
	}()
	if t.onSubscribe != nil {
		for _, topic := range topics {
			t.onSubscribe(topic)
		}
	}
	return out, nil
}

// inbound is an unbounded FIFO of envelopes between a gatedNode.s reader and writer.
type inbound struct {
	mu     sync.Mutex
	q      []transport.Envelope
	closed bool
	notify chan struct{}
}

// push queues e; false if the writer is gone.
func (b *inbound) push(e transport.Envelope) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.q = append(b.q, e)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return true
}

// close drops the queue and returns how many envelopes (end marker excluded) it held.
func (b *inbound) close() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	n := int64(0)
	for _, e := range b.q {
		if e.Topic != "" {
			n++
		}
	}
	b.q = nil
	return n
}

func (b *inbound) pop(ctx context.Context) (transport.Envelope, bool) {
	for {
		b.mu.Lock()
		if len(b.q) > 0 {
			e := b.q[0]
			b.q[0] = transport.Envelope{}
			b.q = b.q[1:]
			b.mu.Unlock()
			return e, true
		}
		b.mu.Unlock()
		select {
		case <-b.notify:
		case <-ctx.Done():
			return transport.Envelope{}, false
		}
	}
}

func (t *gatedNode) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	return t.node.History(ctx, topics, since, until)
}

// counters is a snapshot of a gatedNode.s counters.
type counters struct {
	pubs, pubBytes, pubErrs, pubCPU, rxEnvs, rxBytes int64
}

func (t *gatedNode) snapshot() counters {
	return counters{pubs: t.pubs.Load(), pubBytes: t.pubBytes.Load(), pubErrs: t.pubErrs.Load(), pubCPU: t.pubCPU.Load(),
		rxEnvs: t.rxEnvs.Load(), rxBytes: t.rxBytes.Load()}
}

// stashMin is the size from which payloads travel by reference (see oversize).
const stashMin = 4096

// oversize keeps large payloads out of the memory bus: the bus carries a small token
// and the receiving taps substitute the payload when they take the envelope. The memory
// transport gives every subscription its own copy, and with the gates closed a group
// creation queues every Welcome part for every installation sharing each inbox
// partition (gigabytes at N=400, D=3); by reference the process holds one copy per
// publish. Payloads above transport.MaxPayload, which Waku refuses (and the memory
// transport too), travel the same way and are counted (a failed check), so that the
// rest of a scenario can still be measured.
type oversize struct {
	mu       sync.Mutex
	next     uint64
	payloads map[string]*stashed
	subs     map[string]int // live subscriptions per topic
	count    atomic.Int64   // publishes above transport.MaxPayload
	extra    atomic.Int64   // bytes of the stashed payloads beyond their tokens
	largest  atomic.Int64   // largest payload published (any size)
	// byValue: payloads up to transport.MaxPayload are not stashed (runs with a history
	// store, whose answers must carry the payloads).
	byValue bool
}

const oversizeMagic = "chorus-sim/oversize/"

// stashed is a payload and the number of subscriptions that will still fetch it.
type stashed struct {
	payload []byte
	refs    int
}

func newOversize() *oversize {
	return &oversize{payloads: map[string]*stashed{}, subs: map[string]int{}}
}

func (o *oversize) subscribed(topics []string, delta int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, t := range topics {
		o.subs[t] += delta
	}
}

func (o *oversize) stash(topic string, payload []byte) []byte {
	o.mu.Lock()
	o.next++
	tok := fmt.Sprintf("%s%d", oversizeMagic, o.next)
	if refs := o.subs[topic]; refs > 0 {
		// Not copied: the engine never writes to a payload after publishing it (each
		// publish is a stored outbox record), and receivers get copies.
		o.payloads[tok] = &stashed{payload: payload, refs: refs}
	}
	o.mu.Unlock()
	o.extra.Add(int64(len(payload) - len(tok)))
	return []byte(tok)
}

// observe records the size of a published payload.
func (o *oversize) observe(n int) {
	for {
		l := o.largest.Load()
		if int64(n) <= l || o.largest.CompareAndSwap(l, int64(n)) {
			return
		}
	}
}

// size returns the size of the payload a token stands for (len(p) if p is no token).
func (o *oversize) size(p []byte) int {
	if len(p) > 64 || !bytes.HasPrefix(p, []byte(oversizeMagic)) {
		return len(p)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if st, ok := o.payloads[string(p)]; ok {
		return len(st.payload)
	}
	return len(p)
}

func (o *oversize) fetch(p []byte) []byte {
	if len(p) > 64 || !bytes.HasPrefix(p, []byte(oversizeMagic)) {
		return p
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st, ok := o.payloads[string(p)]
	if !ok {
		return p
	}
	if st.refs--; st.refs <= 0 {
		delete(o.payloads, string(p))
		return st.payload
	}
	return slices.Clone(st.payload)
}
