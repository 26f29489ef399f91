package waku

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/transporttest"
)

// testLogger writes errors to stderr: go-waku routes libp2p logging process-wide and
// may log after a test ended, so t.Log cannot be used.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func start(t testing.TB, cfg Config) *Node {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// waitPeers waits until every node sees want peers (relay peers on the shard, or
// connected service peers for a light node): then a publish reaches them all.
func waitPeers(t testing.TB, want map[*Node]int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for n, w := range want {
			if n.PeerCount() < w {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for n, w := range want {
				t.Logf("node %v: %d peers, want %d", n.ListenAddrs(), n.PeerCount(), w)
			}
			t.Fatal("timeout waiting for peers")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func addrs(nodes ...*Node) []string {
	var out []string
	for _, n := range nodes {
		if n != nil {
			out = append(out, n.ListenAddrs()[0])
		}
	}
	return out
}

// cluster is a full mesh of relay+store nodes for the shared suite.
type cluster struct {
	t     *testing.T
	nodes []*Node
}

func (c *cluster) Node(i int) transporttest.Node { return c.nodes[i] }

func (c *cluster) Stop(t *testing.T, i int) {
	_ = c.nodes[i].Close()
	c.nodes[i] = nil
}

func (c *cluster) live() []*Node {
	var out []*Node
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// Start is a restart: one node per process lifetime, so the client comes back as a
// fresh node (new key, new store file) that catches up from the others' stores.
func (c *cluster) Start(t *testing.T, i int) transporttest.Node {
	others := c.live()
	c.nodes[i] = start(t, Config{
		Peers: addrs(others...), StorePeers: addrs(others...),
		Store: true, StorePath: filepath.Join(t.TempDir(), fmt.Sprintf("store-%d-restarted.db", i)),
	})
	c.ready(t)
	return c.nodes[i]
}

func (c *cluster) ready(t *testing.T) {
	live := c.live()
	want := map[*Node]int{}
	for _, n := range live {
		want[n] = len(live) - 1
	}
	waitPeers(t, want)
}

func newCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t}
	dir := t.TempDir()
	for i := range n {
		c.nodes = append(c.nodes, start(t, Config{
			Peers: addrs(c.nodes...),
			Store: true, StorePath: filepath.Join(dir, fmt.Sprintf("store-%d.db", i)),
		}))
	}
	c.ready(t)
	return c
}

// duplicating builds a publisher relay node, two service nodes and a light node that
// subscribes through both: every message reaches the light node twice.
func duplicating(t *testing.T) (transporttest.Node, transporttest.Node) {
	pub := start(t, Config{})
	s1 := start(t, Config{Service: true, Peers: addrs(pub)})
	s2 := start(t, Config{Service: true, Peers: addrs(pub, s1)})
	light := start(t, Config{Light: true, Peers: addrs(s1, s2)})
	waitPeers(t, map[*Node]int{pub: 2, s1: 2, s2: 2, light: 2})
	return pub, light
}

func TestSuite(t *testing.T) {
	transporttest.Run(t, transporttest.Harness{
		New:         func(t *testing.T, n int) transporttest.Network { return newCluster(t, n) },
		Duplicating: duplicating,
	})
}

func TestPublishWithoutPeersFails(t *testing.T) {
	ctx := context.Background()
	lonely := start(t, Config{})
	if _, err := lonely.Publish(ctx, "/chorus/1/x/proto", []byte("x")); !errors.Is(err, transport.ErrNoPeers) {
		t.Fatalf("relay Publish without peers: %v", err)
	}
	light := start(t, Config{Light: true})
	if _, err := light.Publish(ctx, "/chorus/1/x/proto", []byte("x")); !errors.Is(err, transport.ErrNoPeers) {
		t.Fatalf("light Publish without service peers: %v", err)
	}
	if _, err := lonely.History(ctx, []string{"/chorus/1/x/proto"}, time.Time{}, time.Time{}); !errors.Is(err, transport.ErrNoHistory) {
		t.Fatalf("History without store: %v", err)
	}
	if st := lonely.Stats(); st.Publishes != 0 {
		t.Fatalf("failed publish counted: %+v", st)
	}
}

// TestLightNode: a light node publishes through lightpush, receives through filter
// (its own messages too, like a relay node) and reads history from its service peer.
func TestLightNode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relayNode := start(t, Config{})
	svc := start(t, Config{Service: true, Store: true, StorePath: filepath.Join(t.TempDir(), "svc.db"), Peers: addrs(relayNode)})
	light := start(t, Config{Light: true, Peers: addrs(svc), StorePeers: addrs(svc)})
	waitPeers(t, map[*Node]int{relayNode: 1, svc: 1, light: 1})

	tp := "/chorus/1/light/proto"
	lightCh, err := light.Subscribe(ctx, []string{tp})
	if err != nil {
		t.Fatal(err)
	}
	relayCh, err := relayNode.Subscribe(ctx, []string{tp})
	if err != nil {
		t.Fatal(err)
	}
	h1, err := relayNode.Publish(ctx, tp, []byte("from relay"))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := light.Publish(ctx, tp, []byte("from light"))
	if err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan transport.Envelope{"light": lightCh, "relay": relayCh} {
		got := map[[32]byte]bool{}
		for len(got) < 2 {
			select {
			case e := <-ch:
				if e.Hash != h1 && e.Hash != h2 {
					t.Fatalf("%s: unexpected %q", name, e.Payload)
				}
				got[e.Hash] = true
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: got %d of 2", name, len(got))
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		hist, err := light.History(ctx, []string{tp}, time.Time{}, time.Time{})
		if err == nil && len(hist) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("light History: %d messages, %v", len(hist), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMessageHashIsWakus(t *testing.T) {
	ctx := context.Background()
	a := start(t, Config{})
	b := start(t, Config{Peers: addrs(a)})
	waitPeers(t, map[*Node]int{a: 1, b: 1})
	ch, _ := b.Subscribe(ctx, []string{"/chorus/1/h/proto"})
	h, err := a.Publish(ctx, "/chorus/1/h/proto", []byte("hash me"))
	if err != nil {
		t.Fatal(err)
	}
	e := <-ch
	if e.Hash != h || transport.MessageHash("/waku/2/rs/16/32", e.Topic, e.Payload, e.Timestamp.UnixNano()) != h {
		t.Fatal("hash differs from transport.MessageHash")
	}
}

func TestPacingHonoursContext(t *testing.T) {
	a := start(t, Config{PublishRate: 0.001, PublishBurst: 1})
	b := start(t, Config{Peers: addrs(a)})
	waitPeers(t, map[*Node]int{a: 1, b: 1})
	if _, err := a.Publish(context.Background(), "/chorus/1/p/proto", []byte("1")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Publish(ctx, "/chorus/1/p/proto", []byte("2")); err == nil {
		t.Fatal("second publish not paced")
	}
	// Close interrupts a publisher waiting for a token.
	done := make(chan error, 1)
	go func() { _, err := a.Publish(context.Background(), "/chorus/1/p/proto", []byte("3")); done <- err }()
	time.Sleep(10 * time.Millisecond) // let it block (not a synchronisation: either order passes)
	_ = a.Close()
	if err := <-done; !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("blocked Publish after Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]Config{
		"light store":   {Light: true, Store: true, StorePath: ":memory:"},
		"light service": {Light: true, Service: true},
		"store no path": {Store: true},
		"bad pubsub":    {PubsubTopic: "/waku/2/default-waku/proto"},
		"bad peer":      {Peers: []string{"/ip4/127.0.0.1/tcp/1"}},
		"bad listen":    {ListenAddr: "nowhere"},
	} {
		if n, err := New(ctx, cfg); err == nil {
			_ = n.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestStartFailure: a port in use makes Start fail; New returns the error without
// panicking (go-waku#1311) and without leaving the store open.
func TestStartFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = New(context.Background(), Config{ListenAddr: l.Addr().String(), Store: true, StorePath: filepath.Join(t.TempDir(), "s.db"), Logger: testLogger()})
	if err == nil {
		t.Fatal("New on a busy port succeeded")
	}
}

// TestTimestampsRoundedToSecond: the Waku timestamp of a publish carries the sender's
// clock to the second only (issue 19 item 9: nanoseconds of the sender's clock are a
// fingerprint): publishes made within a few milliseconds get sub-second parts spread over
// the second, never before the second they were made in; hashes stay distinct.
func TestTimestampsRoundedToSecond(t *testing.T) {
	ctx := context.Background()
	a := start(t, Config{})
	b := start(t, Config{Peers: addrs(a)})
	waitPeers(t, map[*Node]int{a: 1, b: 1})
	tp := "/chorus/1/ts/proto"
	ch, _ := b.Subscribe(ctx, []string{tp})
	const n = 40
	hashes := map[[32]byte]time.Time{}
	for i := range n {
		before := time.Now().Truncate(time.Second)
		h, err := a.Publish(ctx, tp, fmt.Appendf(nil, "ts %d", i))
		if err != nil {
			t.Fatal(err)
		}
		hashes[h] = before
	}
	if len(hashes) != n {
		t.Fatalf("%d distinct hashes for %d payloads", len(hashes), n)
	}
	lo, hi := int64(time.Second), int64(0)
	for range n {
		select {
		case e := <-ch:
			sec, ok := hashes[e.Hash]
			if !ok || transport.MessageHash("/waku/2/rs/16/32", e.Topic, e.Payload, e.Timestamp.UnixNano()) != e.Hash {
				t.Fatal("hash does not match the timestamp")
			}
			if e.Timestamp.Before(sec) || e.Timestamp.After(time.Now()) && time.Until(e.Timestamp) > time.Second {
				t.Fatalf("timestamp %v outside the second of its publish (%v)", e.Timestamp, sec)
			}
			sub := e.Timestamp.UnixNano() % int64(time.Second)
			lo, hi = min(lo, sub), max(hi, sub)
		case <-time.After(20 * time.Second):
			t.Fatal("timeout")
		}
	}
	if hi-lo < int64(500*time.Millisecond) {
		t.Fatalf("sub-second parts of %d quick publishes span %v: they follow the clock", n, time.Duration(hi-lo))
	}
}
