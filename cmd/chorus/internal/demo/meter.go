package demo

import (
	"context"
	"sync"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// meter wraps a device's transport: it counts every publish (per topic, with bytes) and
// every envelope delivered to the engine, and can lose the next publish on a topic
// (the publish "succeeds" but never leaves the device), to stage a message lost in the
// network.
type meter struct {
	inner protocol.Transport

	mu       sync.Mutex
	pubs     map[string]*count // by topic
	recv     map[string]*count
	loseNext map[string]bool
	lost     int
	deaf     map[string]bool // inbound envelopes on these topics are dropped
}

type count struct{ n, bytes int64 }

func newMeter(inner protocol.Transport) *meter {
	return &meter{inner: inner, pubs: map[string]*count{}, recv: map[string]*count{}, loseNext: map[string]bool{}, deaf: map[string]bool{}}
}

func (m *meter) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	m.mu.Lock()
	if m.loseNext[topic] {
		delete(m.loseNext, topic)
		m.lost++
		m.mu.Unlock()
		// Lost on the way: the device believes it published.
		return transport.MessageHash("lost", topic, payload, time.Now().UnixNano()), nil
	}
	m.mu.Unlock()
	h, err := m.inner.Publish(ctx, topic, payload)
	if err == nil {
		m.mu.Lock()
		c := m.pubs[topic]
		if c == nil {
			c = &count{}
			m.pubs[topic] = c
		}
		c.n++
		c.bytes += int64(len(payload))
		m.mu.Unlock()
	}
	return h, err
}

func (m *meter) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	in, err := m.inner.Subscribe(ctx, topics)
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
				c = &count{}
				m.recv[env.Topic] = c
			}
			c.n++
			c.bytes += int64(len(env.Payload))
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

func (m *meter) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	return m.inner.History(ctx, topics, since, until)
}

// lose makes the next publish on topic vanish.
func (m *meter) lose(topic string) {
	m.mu.Lock()
	m.loseNext[topic] = true
	m.mu.Unlock()
}

// deafen makes the device miss (on) or hear again (off) what is delivered live on topic.
func (m *meter) deafen(topic string, on bool) {
	m.mu.Lock()
	m.deaf[topic] = on
	m.mu.Unlock()
}

// published returns the publishes and bytes on topic so far.
func (m *meter) published(topic string) (n, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.pubs[topic]; c != nil {
		return c.n, c.bytes
	}
	return 0, 0
}

// publishedExcept returns the publishes and bytes on every topic but topic.
func (m *meter) publishedExcept(topic string) (n, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for t, c := range m.pubs {
		if t != topic {
			n += c.n
			bytes += c.bytes
		}
	}
	return n, bytes
}
