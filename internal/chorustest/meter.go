package chorustest

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// Meter wraps a client's transport: it counts every successful publish (per topic, with
// bytes), keeps a copy of every publish handed to the transport, counts every envelope delivered to the client, and can
// lose the next publish on a topic (the publish "succeeds" but never leaves the device)
// or make the client miss what arrives live on a topic, to stage a loss.
type Meter struct {
	// Inner is the wrapped transport. Set it before use, or between a client's close and
	// the next client's start (a device restarting on a new node keeps its counts).
	Inner protocol.Transport

	mu       sync.Mutex
	pubs     map[string]*Count // by topic
	recv     map[string]*Count
	sent     []transport.Envelope
	loseNext map[string]bool
	lost     int
	deaf     map[string]bool // inbound envelopes on these topics are dropped
}

// Count is a number of envelopes and their payload bytes.
type Count struct{ N, Bytes int64 }

// NewMeter wraps inner.
func NewMeter(inner protocol.Transport) *Meter {
	return &Meter{Inner: inner, pubs: map[string]*Count{}, recv: map[string]*Count{}, loseNext: map[string]bool{}, deaf: map[string]bool{}}
}

// Publish implements protocol.Transport.
func (m *Meter) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	m.mu.Lock()
	if m.loseNext[topic] {
		delete(m.loseNext, topic)
		m.lost++
		m.mu.Unlock()
		// Lost on the way: the device believes it published.
		return transport.MessageHash("lost", topic, payload, time.Now().UnixNano()), nil
	}
	m.sent = append(m.sent, transport.Envelope{Topic: topic, Payload: bytes.Clone(payload)})
	m.mu.Unlock()
	h, err := m.Inner.Publish(ctx, topic, payload)
	if err == nil {
		m.mu.Lock()
		c := m.pubs[topic]
		if c == nil {
			c = &Count{}
			m.pubs[topic] = c
		}
		c.N++
		c.Bytes += int64(len(payload))
		m.mu.Unlock()
	}
	return h, err
}

// Subscribe implements protocol.Transport.
func (m *Meter) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	in, err := m.Inner.Subscribe(ctx, topics)
	if err != nil {
		return nil, err
	}
	out := make(chan transport.Envelope, transport.QueueSize)
	go func() {
		defer close(out)
		for env := range in {
			m.mu.Lock()
			if m.deaf[env.Topic] {
				m.mu.Unlock()
				continue // missed (the history store still has it)
			}
			c := m.recv[env.Topic]
			if c == nil {
				c = &Count{}
				m.recv[env.Topic] = c
			}
			c.N++
			c.Bytes += int64(len(env.Payload))
			m.mu.Unlock()
			select {
			case out <- env:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// History implements protocol.Transport.
func (m *Meter) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	return m.Inner.History(ctx, topics, since, until)
}

// Lose makes the next publish on topic vanish.
func (m *Meter) Lose(topic string) {
	m.mu.Lock()
	m.loseNext[topic] = true
	m.mu.Unlock()
}

// Lost is the number of publishes lost so far (Lose).
func (m *Meter) Lost() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

// Deafen makes the client miss (on) or hear again (off) what is delivered live on topic.
func (m *Meter) Deafen(topic string, on bool) {
	m.mu.Lock()
	m.deaf[topic] = on
	m.mu.Unlock()
}

// Published returns the publishes and bytes on topic so far.
func (m *Meter) Published(topic string) (n, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.pubs[topic]; c != nil {
		return c.N, c.Bytes
	}
	return 0, 0
}

// PublishedExcept returns the publishes and bytes on every topic but topic ("": all).
func (m *Meter) PublishedExcept(topic string) (n, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for t, c := range m.pubs {
		if t != topic {
			n += c.N
			bytes += c.Bytes
		}
	}
	return n, bytes
}

// Received returns the envelopes and bytes delivered to the client on topic so far.
func (m *Meter) Received(topic string) (n, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.recv[topic]; c != nil {
		return c.N, c.Bytes
	}
	return 0, 0
}

// Sent returns every publish handed to the inner transport so far (failed ones too; lost
// ones, which never leave, not), in order.
func (m *Meter) Sent() []transport.Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]transport.Envelope(nil), m.sent...)
}
