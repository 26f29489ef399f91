// Package transporttest is the behavioural test suite every Chorus transport must pass:
// transport/memory and transport/waku run the same Run with their own Harness.
package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// Node is the transport surface under test (what the engine's Transport interface
// needs, plus Stats and Close).
type Node interface {
	Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error)
	Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error)
	History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error)
	Stats() transport.Stats
	Close() error
}

// Network is a set of connected nodes built by a Harness.
type Network interface {
	// Node returns node i.
	Node(i int) Node
	// Stop closes node i (the client goes away).
	Stop(t *testing.T, i int)
	// Start puts a fresh node for client i in place of the stopped one, connected and
	// ready. It has missed everything published while client i was away and catches
	// up with History.
	Start(t *testing.T, i int) Node
}

// Harness builds networks of the transport under test.
type Harness struct {
	// New returns n connected full nodes, ready: a message published on any of them
	// after New returns reaches the subscriptions of all of them, and History on any
	// node returns what the others published. Cleanup is registered on t.
	New func(t *testing.T, n int) Network
	// Duplicating returns a publisher and a receiver whose node gets every message
	// more than once (the receiver must suppress the copies).
	Duplicating func(t *testing.T) (publisher, receiver Node)
	// Timeout bounds every wait (0: 20s).
	Timeout time.Duration
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	if h.New == nil || h.Duplicating == nil {
		t.Fatal("transporttest: incomplete harness")
	}
	if h.Timeout == 0 {
		h.Timeout = 20 * time.Second
	}
	s := suite{h}
	t.Run("Exchange", s.exchange)
	t.Run("Dedup", s.dedup)
	t.Run("HistoryCatchUp", s.history)
	t.Run("CancelClosesChannel", s.cancel)
	t.Run("Close", s.close)
	t.Run("Limits", s.limits)
	t.Run("Concurrent", s.concurrent)
}

type suite struct{ h Harness }

// topic returns distinct content topics per test, so that a failure in one cannot leak
// messages into another.
func topic(t *testing.T, name string) string {
	return fmt.Sprintf("/chorus/1/tt-%x-%s/proto", fnv(t.Name()), name)
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

type sent struct {
	topic   string
	payload []byte
}

// publish publishes and records the message under its hash.
func publish(t *testing.T, ctx context.Context, n Node, want map[[32]byte]sent, tp string, payload []byte) [32]byte {
	t.Helper()
	h, err := n.Publish(ctx, tp, payload)
	if err != nil {
		t.Fatalf("Publish(%s): %v", tp, err)
	}
	if _, dup := want[h]; dup {
		t.Fatalf("Publish returned a hash twice: %x", h)
	}
	want[h] = sent{tp, bytes.Clone(payload)}
	return h
}

// expect reads ch until every wanted message has arrived. It fails on a timeout, a
// duplicate, a message that is not wanted, or a field that does not match.
func expect(t *testing.T, ch <-chan transport.Envelope, want map[[32]byte]sent, timeout time.Duration) {
	t.Helper()
	got := map[[32]byte]bool{}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for len(got) < len(want) {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d/%d messages", len(got), len(want))
			}
			w, wanted := want[e.Hash]
			switch {
			case !wanted:
				t.Fatalf("unexpected message on %s: %q", e.Topic, e.Payload)
			case got[e.Hash]:
				t.Fatalf("duplicate delivery of %x", e.Hash)
			case e.Topic != w.topic || !bytes.Equal(e.Payload, w.payload):
				t.Fatalf("message %x: got %s %q, want %s %q", e.Hash, e.Topic, e.Payload, w.topic, w.payload)
			case e.Timestamp.IsZero():
				t.Fatalf("message %x has no timestamp", e.Hash)
			}
			got[e.Hash] = true
		case <-deadline.C:
			t.Fatalf("timeout: %d/%d messages received", len(got), len(want))
		}
	}
}

func subscribe(t *testing.T, ctx context.Context, n Node, tps ...string) <-chan transport.Envelope {
	t.Helper()
	ch, err := n.Subscribe(ctx, tps)
	if err != nil {
		t.Fatalf("Subscribe(%v): %v", tps, err)
	}
	return ch
}

func only(want map[[32]byte]sent, tps ...string) map[[32]byte]sent {
	out := map[[32]byte]sent{}
	for h, s := range want {
		if slices.Contains(tps, s.topic) {
			out[h] = s
		}
	}
	return out
}

// eventually polls cond until it holds or the timeout expires.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exchange: three nodes publish on three topics; every subscription (including a
// second one on the same node, and the publisher's own) gets exactly its topics.
func (s suite) exchange(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := s.h.New(t, 3)
	a, b, c := topic(t, "a"), topic(t, "b"), topic(t, "c")
	subs := []struct {
		node   int
		topics []string
	}{{0, []string{a, b}}, {1, []string{b, c}}, {2, []string{a, c}}, {2, []string{b}}, {0, []string{c, a, c}}}
	chans := make([]<-chan transport.Envelope, len(subs))
	for i, sb := range subs {
		chans[i] = subscribe(t, ctx, net.Node(sb.node), sb.topics...)
	}
	want := map[[32]byte]sent{}
	for i := range 3 {
		for _, tp := range []string{a, b, c} {
			for k := range 4 {
				publish(t, ctx, net.Node(i), want, tp, fmt.Appendf(nil, "node %d topic %s msg %d", i, tp[len(tp)-7:], k))
			}
		}
	}
	for i, sb := range subs {
		expect(t, chans[i], only(want, sb.topics...), s.h.Timeout)
	}
	st := net.Node(0).Stats()
	if st.Publishes != 12 || st.Deliveries < 24 {
		t.Fatalf("node 0 stats %+v: want 12 publishes, >= 24 deliveries", st)
	}
}

// dedup: every message reaches the receiver's node more than once but is delivered once.
func (s suite) dedup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, recv := s.h.Duplicating(t)
	tp := topic(t, "d")
	ch := subscribe(t, ctx, recv, tp)
	want := map[[32]byte]sent{}
	const n = 20
	for k := range n {
		publish(t, ctx, pub, want, tp, fmt.Appendf(nil, "dup %d", k))
	}
	expect(t, ch, want, s.h.Timeout)
	eventually(t, s.h.Timeout, "duplicates to be suppressed", func() bool { return recv.Stats().Duplicates >= n })
	// Every copy has been through the receiver's de-duplication by now: anything it
	// let through would be queued before this fence.
	fence := map[[32]byte]sent{}
	publish(t, ctx, pub, fence, tp, []byte("fence"))
	expect(t, ch, fence, s.h.Timeout)
	// Deliveries are counted once the channel send completed: allow for the last one.
	eventually(t, s.h.Timeout, "deliveries to be counted", func() bool { return recv.Stats().Deliveries >= n+1 })
	if st := recv.Stats(); st.Deliveries != n+1 || st.Received < 2*n {
		t.Fatalf("receiver stats %+v: want %d deliveries, >= %d received", st, n+1, 2*n)
	}
}

// history: a client that was away catches up with History, bounds are inclusive and
// exact, results are ordered and de-duplicated; the fresh node also gets live traffic.
func (s suite) history(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := s.h.New(t, 3)
	a, other := topic(t, "a"), topic(t, "other")
	before, during := map[[32]byte]sent{}, map[[32]byte]sent{}
	for k := range 5 {
		publish(t, ctx, net.Node(k%2), before, a, fmt.Appendf(nil, "before %d", k))
	}
	publish(t, ctx, net.Node(0), map[[32]byte]sent{}, other, []byte("other topic"))
	net.Stop(t, 2)
	for k := range 6 {
		publish(t, ctx, net.Node(k%2), during, a, fmt.Appendf(nil, "during %d", k))
	}
	fresh := net.Start(t, 2)

	all := map[[32]byte]sent{}
	for h, v := range before {
		all[h] = v
	}
	for h, v := range during {
		all[h] = v
	}
	var hist []transport.Envelope
	eventually(t, s.h.Timeout, "history to contain every message", func() bool {
		var err error
		hist, err = fresh.History(ctx, []string{a}, time.Time{}, time.Time{})
		if err != nil {
			t.Logf("History: %v", err)
			return false
		}
		return len(hist) >= len(all)
	})
	checkHistory(t, hist, all)

	// Split at the last "before" timestamp. A transport may round timestamps (Waku: to
	// the second), so "during" messages can share it: the expected sets follow from the
	// timestamps History reported, not from publish order.
	var lastBefore time.Time
	for _, e := range hist {
		if _, ok := before[e.Hash]; ok && e.Timestamp.After(lastBefore) {
			lastBefore = e.Timestamp
		}
	}
	upTo, after := map[[32]byte]sent{}, map[[32]byte]sent{}
	for _, e := range hist {
		if e.Timestamp.After(lastBefore) {
			after[e.Hash] = all[e.Hash]
		} else {
			upTo[e.Hash] = all[e.Hash]
		}
	}
	h1, err := fresh.History(ctx, []string{a}, time.Time{}, lastBefore)
	if err != nil {
		t.Fatal(err)
	}
	checkHistory(t, h1, upTo)
	h2, err := fresh.History(ctx, []string{a, topic(t, "unused")}, lastBefore.Add(time.Nanosecond), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkHistory(t, h2, after)

	ch := subscribe(t, ctx, fresh, a)
	live := map[[32]byte]sent{}
	publish(t, ctx, net.Node(0), live, a, []byte("after restart"))
	expect(t, ch, live, s.h.Timeout)
}

func checkHistory(t *testing.T, hist []transport.Envelope, want map[[32]byte]sent) {
	t.Helper()
	if len(hist) != len(want) {
		t.Fatalf("history has %d messages, want %d", len(hist), len(want))
	}
	for i, e := range hist {
		w, ok := want[e.Hash]
		if !ok || e.Topic != w.topic || !bytes.Equal(e.Payload, w.payload) {
			t.Fatalf("history[%d] = %s %q: not expected", i, e.Topic, e.Payload)
		}
		if i > 0 {
			p := hist[i-1]
			if c := p.Timestamp.Compare(e.Timestamp); c > 0 || (c == 0 && bytes.Compare(p.Hash[:], e.Hash[:]) >= 0) {
				t.Fatalf("history not ordered by (timestamp, hash) at %d", i)
			}
		}
	}
}

// cancel: ending the subscription's context closes its channel; others are unaffected.
func (s suite) cancel(t *testing.T) {
	net := s.h.New(t, 2)
	tp := topic(t, "x")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subCtx, subCancel := context.WithCancel(ctx)
	ch := subscribe(t, subCtx, net.Node(1), tp)
	keep := subscribe(t, ctx, net.Node(1), tp)
	subCancel()
	waitClosed(t, ch, s.h.Timeout)
	want := map[[32]byte]sent{}
	publish(t, ctx, net.Node(0), want, tp, []byte("still here"))
	expect(t, keep, want, s.h.Timeout)
	if _, err := net.Node(1).Subscribe(subCtx, []string{tp}); err == nil {
		t.Fatal("Subscribe with a cancelled context succeeded")
	}
}

func waitClosed(t *testing.T, ch <-chan transport.Envelope, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline.C:
			t.Fatal("subscription channel not closed")
		}
	}
}

// close: Close ends subscriptions, later calls fail with ErrClosed, Close is idempotent.
func (s suite) close(t *testing.T) {
	ctx := context.Background()
	net := s.h.New(t, 2)
	tp := topic(t, "x")
	n := net.Node(1)
	ch := subscribe(t, ctx, n, tp)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch, s.h.Timeout)
	if _, err := n.Publish(ctx, tp, []byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := n.Subscribe(ctx, []string{tp}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, err := n.History(ctx, []string{tp}, time.Time{}, time.Time{}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("History after Close: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// limits: the largest payload goes through intact; bad arguments are rejected.
func (s suite) limits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := s.h.New(t, 2)
	tp := topic(t, "big")
	ch := subscribe(t, ctx, net.Node(1), tp)
	big := make([]byte, transport.MaxPayload)
	for i := range big {
		big[i] = byte(i * 31)
	}
	want := map[[32]byte]sent{}
	publish(t, ctx, net.Node(0), want, tp, big)
	publish(t, ctx, net.Node(0), want, tp, []byte{0})
	expect(t, ch, want, s.h.Timeout)

	n := net.Node(0)
	if _, err := n.Publish(ctx, tp, make([]byte, transport.MaxPayload+1)); !errors.Is(err, transport.ErrPayloadTooLarge) {
		t.Fatalf("oversized Publish: %v", err)
	}
	if _, err := n.Publish(ctx, tp, nil); !errors.Is(err, transport.ErrEmptyPayload) {
		t.Fatalf("empty Publish: %v", err)
	}
	if _, err := n.Publish(ctx, "", []byte("x")); !errors.Is(err, transport.ErrInvalidTopic) {
		t.Fatalf("Publish without topic: %v", err)
	}
	if _, err := n.Subscribe(ctx, nil); !errors.Is(err, transport.ErrNoTopics) {
		t.Fatalf("Subscribe without topics: %v", err)
	}
	if _, err := n.History(ctx, nil, time.Time{}, time.Time{}); !errors.Is(err, transport.ErrNoTopics) {
		t.Fatalf("History without topics: %v", err)
	}
	dead, deadCancel := context.WithCancel(ctx)
	deadCancel()
	if _, err := n.Publish(dead, tp, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context: %v", err)
	}
	if st := n.Stats(); st.Publishes != 2 || st.Bytes != transport.MaxPayload+1 {
		t.Fatalf("stats %+v: want 2 publishes of %d bytes", st, transport.MaxPayload+1)
	}
}

// concurrent: publishers on every node and many subscriptions at once lose nothing.
func (s suite) concurrent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := s.h.New(t, 3)
	a, b := topic(t, "a"), topic(t, "b")
	var chans []<-chan transport.Envelope
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 3 {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, err := net.Node(i).Subscribe(ctx, []string{a, b})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				chans = append(chans, ch)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	want := map[[32]byte]sent{}
	for i := range 3 {
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 30 {
					tp := []string{a, b}[k%2]
					p := fmt.Appendf(nil, "n%d g%d k%d", i, g, k)
					h, err := net.Node(i).Publish(ctx, tp, p)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					want[h] = sent{tp, p}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(want) != 180 {
		t.Fatalf("%d distinct hashes for 180 publishes", len(want))
	}
	for _, ch := range chans {
		expect(t, ch, want, s.h.Timeout)
	}
}
