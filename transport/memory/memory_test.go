package memory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/transporttest"
)

type testNet struct {
	net   *Network
	nodes []*Node
}

func (n *testNet) Node(i int) transporttest.Node { return n.nodes[i] }
func (n *testNet) Stop(t *testing.T, i int)      { _ = n.nodes[i].Close() }
func (n *testNet) Start(t *testing.T, i int) transporttest.Node {
	n.nodes[i] = n.net.Join(fmt.Sprint("client", i))
	return n.nodes[i]
}

func newTestNet(t *testing.T, cfg Config, n int) *testNet {
	tn := &testNet{net: NewNetwork(cfg)}
	t.Cleanup(func() { _ = tn.net.Close() })
	for i := range n {
		tn.nodes = append(tn.nodes, tn.net.Join(fmt.Sprint("client", i)))
	}
	return tn
}

func TestSuite(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"perfect", Config{History: true}},
		{"delayed", Config{History: true, Delay: time.Millisecond, Jitter: time.Millisecond, Seed: 1}},
		{"reordering", Config{History: true, ReorderRate: 0.3, DuplicateRate: 0.3, Jitter: time.Millisecond, Seed: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			transporttest.Run(t, transporttest.Harness{
				New: func(t *testing.T, n int) transporttest.Network { return newTestNet(t, tc.cfg, n) },
				Duplicating: func(t *testing.T) (transporttest.Node, transporttest.Node) {
					cfg := tc.cfg
					cfg.DuplicateRate = 1
					tn := newTestNet(t, cfg, 2)
					return tn.nodes[0], tn.nodes[1]
				},
			})
		})
	}
}

// run publishes n messages from node 0 and returns which ones node 1 received, in order.
func lossPattern(t *testing.T, cfg Config, n int) []int {
	tn := newTestNet(t, cfg, 2)
	ctx := context.Background()
	ch, err := tn.nodes[1].Subscribe(ctx, []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	for k := range n {
		if _, err := tn.nodes[0].Publish(ctx, "t", []byte{byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	st := tn.nodes[1].Stats()
	want := n - int(st.Lost)
	var got []int
	for len(got) < want {
		select {
		case e := <-ch:
			got = append(got, int(e.Payload[0]))
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of %d", len(got), want)
		}
	}
	return got
}

func TestDropRateDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, DropRate: 0.3}
	a, b := lossPattern(t, cfg, 200), lossPattern(t, cfg, 200)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed, different losses")
	}
	if len(a) < 100 || len(a) > 180 {
		t.Fatalf("%d of 200 delivered at drop rate 0.3", len(a))
	}
	cfg.Seed = 43
	if c := lossPattern(t, cfg, 200); fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds, same losses")
	}
	tn := newTestNet(t, Config{DropRate: 1}, 2)
	_, _ = tn.nodes[1].Subscribe(context.Background(), []string{"t"})
	_, _ = tn.nodes[0].Publish(context.Background(), "t", []byte("x"))
	if tn.net.Stats().Lost != 1 {
		t.Fatalf("network stats %+v", tn.net.Stats())
	}
}

func TestReorder(t *testing.T) {
	got := lossPattern(t, Config{Seed: 7, ReorderRate: 0.3}, 100)
	if len(got) != 100 {
		t.Fatalf("%d delivered", len(got))
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	if inversions == 0 {
		t.Fatal("no reordering at rate 0.3")
	}
	// Without reordering and with a constant delay, order is kept.
	got = lossPattern(t, Config{Delay: time.Millisecond}, 100)
	for i := range got {
		if got[i] != i {
			t.Fatalf("order not kept: %v", got)
		}
	}
}

func TestDelayAndJitter(t *testing.T) {
	tn := newTestNet(t, Config{Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 3}, 2)
	ctx := context.Background()
	ch, _ := tn.nodes[1].Subscribe(ctx, []string{"t"})
	start := time.Now()
	if _, err := tn.nodes[0].Publish(ctx, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	<-ch
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("delivered after %v, before Delay-Jitter", d)
	}
}

func TestOfflineMissesLiveButCatchesUp(t *testing.T) {
	tn := newTestNet(t, Config{History: true}, 2)
	ctx := context.Background()
	ch, _ := tn.nodes[1].Subscribe(ctx, []string{"t"})
	tn.net.SetOffline("client1", true)
	h, err := tn.nodes[0].Publish(ctx, "t", []byte("while away"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.nodes[1].Publish(ctx, "t", []byte("x")); !errors.Is(err, transport.ErrNoPeers) {
		t.Fatalf("Publish while offline: %v", err)
	}
	if _, err := tn.nodes[1].History(ctx, []string{"t"}, time.Time{}, time.Time{}); !errors.Is(err, transport.ErrNoPeers) {
		t.Fatalf("History while offline: %v", err)
	}
	if st := tn.nodes[1].Stats(); st.Lost != 1 || st.Deliveries != 0 {
		t.Fatalf("stats %+v", st)
	}
	tn.net.SetOffline("client1", false)
	hist, err := tn.nodes[1].History(ctx, []string{"t"}, time.Time{}, time.Time{})
	if err != nil || len(hist) != 1 || hist[0].Hash != h {
		t.Fatalf("History after coming back: %v %v", hist, err)
	}
	h2, _ := tn.nodes[0].Publish(ctx, "t", []byte("back"))
	if e := <-ch; e.Hash != h2 {
		t.Fatal("live message after coming back not delivered first")
	}
	// In-flight copies to a client that goes offline are lost.
	slow := newTestNet(t, Config{Delay: 20 * time.Millisecond}, 2)
	_, _ = slow.nodes[1].Subscribe(ctx, []string{"t"})
	_, _ = slow.nodes[0].Publish(ctx, "t", []byte("x"))
	slow.net.SetOffline("client1", true)
	deadline := time.Now().Add(5 * time.Second)
	for slow.nodes[1].Stats().Lost != 1 {
		if time.Now().After(deadline) {
			t.Fatal("in-flight copy not counted as lost")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOverflowIsCounted(t *testing.T) {
	tn := newTestNet(t, Config{QueueSize: 4}, 2)
	ctx := context.Background()
	ch, _ := tn.nodes[1].Subscribe(ctx, []string{"t"}) // never read until the end
	for k := range 10 {
		if _, err := tn.nodes[0].Publish(ctx, "t", []byte{byte(k)}); err != nil {
			t.Fatal(err) // a slow subscriber never blocks the publisher
		}
	}
	st := tn.nodes[1].Stats()
	// One envelope may sit in the subscription goroutine, outside the queue.
	if st.Overflows < 5 || st.Overflows > 6 || st.Received != 10 {
		t.Fatalf("stats %+v", st)
	}
	if e := <-ch; e.Payload[0] != 0 {
		t.Fatal("queue does not keep the oldest")
	}
}

// TestHistoryLimitAndDisabled: HistoryLimit evicts the oldest stored messages; History
// returns the rest in full, never truncated (err nil, not transport.ErrHistoryTruncated).
func TestHistoryLimitAndDisabled(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, Config{History: true, HistoryLimit: 3}, 1)
	for k := range 5 {
		_, _ = tn.nodes[0].Publish(ctx, "t", []byte{byte(k)})
	}
	hist, err := tn.nodes[0].History(ctx, []string{"t"}, time.Time{}, time.Time{})
	if err != nil || len(hist) != 3 || hist[0].Payload[0] != 2 {
		t.Fatalf("History = %v, %v", hist, err)
	}
	off := newTestNet(t, Config{}, 1)
	if _, err := off.nodes[0].History(ctx, []string{"t"}, time.Time{}, time.Time{}); !errors.Is(err, transport.ErrNoHistory) {
		t.Fatalf("History without store: %v", err)
	}
}

func TestTimestampsAndHash(t *testing.T) {
	fixed := time.Unix(1700000000, 0)
	tn := newTestNet(t, Config{History: true, Now: func() time.Time { return fixed }}, 1)
	ctx := context.Background()
	h1, _ := tn.nodes[0].Publish(ctx, "t", []byte("same"))
	h2, _ := tn.nodes[0].Publish(ctx, "t", []byte("same"))
	if h1 == h2 {
		t.Fatal("identical publishes with a frozen clock share a hash")
	}
	hist, _ := tn.nodes[0].History(ctx, []string{"t"}, time.Time{}, time.Time{})
	if len(hist) != 2 || !hist[0].Timestamp.Equal(fixed) || hist[1].Timestamp.UnixNano() != fixed.UnixNano()+1 {
		t.Fatalf("timestamps %v %v", hist[0].Timestamp, hist[1].Timestamp)
	}
	if want := transport.MessageHash("/waku/2/rs/16/32", "t", []byte("same"), fixed.UnixNano()); hist[0].Hash != want || h1 != want {
		t.Fatal("hash is not the Waku message hash")
	}
}

func TestPayloadOwnership(t *testing.T) {
	tn := newTestNet(t, Config{History: true}, 2)
	ctx := context.Background()
	c1, _ := tn.nodes[1].Subscribe(ctx, []string{"t"})
	c2, _ := tn.nodes[1].Subscribe(ctx, []string{"t"})
	p := []byte("abc")
	_, _ = tn.nodes[0].Publish(ctx, "t", p)
	p[0] = 'X' // the publisher reuses its buffer
	e1 := <-c1
	e1.Payload[1] = 'Y' // a receiver decrypts in place
	e2 := <-c2
	hist, _ := tn.nodes[1].History(ctx, []string{"t"}, time.Time{}, time.Time{})
	if string(e2.Payload) != "abc" || string(hist[0].Payload) != "abc" {
		t.Fatalf("payload shared: %q %q", e2.Payload, hist[0].Payload)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	net := NewNetwork(Config{Delay: time.Millisecond, ReorderRate: 0.5, DuplicateRate: 0.5, Seed: 9})
	ctx, cancel := context.WithCancel(context.Background())
	var nodes []*Node
	for i := range 5 {
		nd := net.Join(fmt.Sprint(i))
		nodes = append(nodes, nd)
		for range 3 {
			_, _ = nd.Subscribe(ctx, []string{"t"}) // never read
		}
	}
	for k := range 50 {
		_, _ = nodes[k%5].Publish(ctx, "t", []byte{byte(k)})
	}
	_ = nodes[0].Close()
	cancel()
	_ = net.Close()
	_ = net.Close()
	if _, err := net.Join("late").Publish(context.Background(), "t", []byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Publish on a closed network: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}
