package demo

import (
	"context"
	"fmt"
	"slices"
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

// tally accumulates a scenario's measurements for the summary: message sizes by the key
// material a message would carry, delivery latencies, publishes per message and a row per
// operation measured on a meter.
type tally struct {
	steady   []int64 // sizes of messages without key changes
	first    []int64 // sizes of a sender's first message (its key distribution rides along)
	rekey    []int64 // sizes of the first messages after the removal
	newcomer []int64 // sizes of a sender's first message after a member was added
	revoked  []int64 // sizes of the first messages after the revocation
	lat      []time.Duration
	msgs     int64
	msgPubs  int64
	rows     []Row
	removalN int64
	removalB int64
	// knownHoles are engine holes already filed and documented (spec "Known limits"),
	// shown in the summary; any other engine issue is a failed check.
	knownHoles []string
}

// message counts a group message of kind (see scenario.send) sent in pubs publishes of
// bytes in all.
func (t *tally) message(kind string, pubs, bytes int64) {
	t.msgs++
	t.msgPubs += pubs
	switch kind {
	case "first":
		t.first = append(t.first, bytes)
	case "rekey":
		t.rekey = append(t.rekey, bytes)
	case "newcomer":
		t.newcomer = append(t.newcomer, bytes)
	case "revoked":
		t.revoked = append(t.revoked, bytes)
	case "steady":
		t.steady = append(t.steady, bytes)
	}
}

// latency records one delivery's latency.
func (t *tally) latency(d time.Duration) { t.lat = append(t.lat, d) }

// row adds an operation's row to the summary.
func (t *tally) row(r Row) { t.rows = append(t.rows, r) }

// removal records the publishes and bytes of a member removal.
func (t *tally) removal(n, bytes int64) { t.removalN, t.removalB = n, bytes }

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// summary returns the summary rowt.
func (t *tally) summary() []Row {
	var r []Row
	if t.msgs > 0 {
		r = append(r, Row{"publishes per group message", fmt.Sprintf("%.2f", float64(t.msgPubs)/float64(t.msgs)),
			fmt.Sprintf("%d messages, %d publishes, groups of 3 and 4 members (4 and 5 devices)", t.msgs, t.msgPubs)})
	}
	all := slices.Concat(t.steady, t.first, t.newcomer, t.rekey, t.revoked)
	if len(all) > 0 {
		r = append(r, Row{"bytes per group message", fmt.Sprintf("%d B", median(all)),
			fmt.Sprintf("median of %d short texts, %d–%d B; no message carries key material (key schedule v2)", len(all), slices.Min(all), slices.Max(all))})
	}
	if len(t.first) > 0 {
		r = append(r, Row{"a sender's first message", fmt.Sprintf("%d B", median(t.first)),
			"median; the same as any other (chains derive from the epoch)"})
	}
	r = append(r, t.rows...)
	if t.removalN > 0 {
		r = append(r, Row{"rekey on removal: publishes", fmt.Sprintf("%d + 0", t.removalN),
			"one rekey: the removal event and its key block in one publish; nobody else rekeys"})
		r = append(r, Row{"rekey on removal: bytes", fmt.Sprintf("%d B + %d B", t.removalB, median(t.rekey)),
			fmt.Sprintf("the event with its key block + median first message after it (%d senders, no key material)", len(t.rekey))})
	}
	if len(t.revoked) > 0 {
		r = append(r, Row{"rekey on revocation", fmt.Sprintf("0 + %d B", median(t.revoked)),
			"extra publishes + median first message after it: the holder's rekey rode with the device list"})
	}
	if len(t.lat) > 0 {
		r = append(r, Row{"latency send → received", latencies(t.lat),
			fmt.Sprintf("p50 / max over %d deliveries (encrypt, relay, decrypt, store)", len(t.lat))})
	}
	for _, n := range t.knownHoles {
		r = append(r, Row{"known hole", "!", n})
	}
	return r
}
