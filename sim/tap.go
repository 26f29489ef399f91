package sim

import (
	"context"
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

// tap is the protocol.Transport of one simulated installation: a memory node with
// counters (publishes, bytes both ways, thread CPU spent inside Publish) and a gate on
// the inbound side.
type tap struct {
	node        *memory.Node
	gate        *gate
	onSubscribe func(topic string)

	pubs, pubBytes, pubErrs atomic.Int64
	pubCPU                  atomic.Int64 // thread CPU inside node.Publish (valid on a locked thread)
	rxEnvs, rxBytes         atomic.Int64 // envelopes that reached this installation
}

func (t *tap) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	c0 := threadCPU()
	h, err := t.node.Publish(ctx, topic, payload)
	t.pubCPU.Add(threadCPU() - c0)
	if err != nil {
		t.pubErrs.Add(1)
		return h, err
	}
	t.pubs.Add(1)
	t.pubBytes.Add(int64(len(payload)))
	return h, nil
}

func (t *tap) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	src, err := t.node.Subscribe(ctx, topics)
	if err != nil {
		return nil, err
	}
	out := make(chan transport.Envelope)
	go func() {
		defer close(out)
		for env := range src {
			t.rxEnvs.Add(1)
			t.rxBytes.Add(int64(len(env.Payload)))
			if !t.gate.wait(ctx) {
				return
			}
			select {
			case out <- env:
			case <-ctx.Done():
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

func (t *tap) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	return t.node.History(ctx, topics, since, until)
}

// counters is a snapshot of a tap's counters.
type counters struct {
	pubs, pubBytes, pubErrs, pubCPU, rxEnvs, rxBytes int64
}

func (t *tap) snapshot() counters {
	return counters{pubs: t.pubs.Load(), pubBytes: t.pubBytes.Load(), pubErrs: t.pubErrs.Load(), pubCPU: t.pubCPU.Load(),
		rxEnvs: t.rxEnvs.Load(), rxBytes: t.rxBytes.Load()}
}

func (a counters) sub(b counters) counters {
	return counters{pubs: a.pubs - b.pubs, pubBytes: a.pubBytes - b.pubBytes, pubErrs: a.pubErrs - b.pubErrs,
		pubCPU: a.pubCPU - b.pubCPU, rxEnvs: a.rxEnvs - b.rxEnvs, rxBytes: a.rxBytes - b.rxBytes}
}
