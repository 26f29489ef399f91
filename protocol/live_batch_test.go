package protocol_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// countingBatches counts the batches the engine opens on a store.
type countingBatches struct {
	*persistence.Store
	n atomic.Int64
}

func (c *countingBatches) BeginBatch(ctx context.Context) (context.Context, error) {
	c.n.Add(1)
	return c.Store.BeginBatch(ctx)
}

// testLog logs at debug level to stderr with CHORUS_TEST_DEBUG set, else nothing.
func testLog(name string) *slog.Logger {
	if os.Getenv("CHORUS_TEST_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", name)
}

// liveReplay is a client on a fresh memory network (empty history: its catch-up finds
// nothing) fed envelopes captured elsewhere by a relay node, as a relay hands over a
// burst: everything it processes arrives on its live subscription.
type liveReplay struct {
	c     *protocol.Client
	relay *memory.Node
	evs   <-chan protocol.Event
	stop  func()
}

// startLiveReplay opens a copy of the database at path on a new network (queue room for
// the whole burst: nothing overflows into a catch-up) and runs it; liveBatch > 0 sets
// the client's live batch size (1: one transaction per envelope).
func startLiveReplay(tb testing.TB, path, name string, liveBatch int, wrap func(*persistence.Store) storage.Store) *liveReplay {
	tb.Helper()
	cp := filepath.Join(tb.TempDir(), name+".db")
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	s, err := persistence.Open(cp)
	if err != nil {
		tb.Fatal(err)
	}
	net := memory.NewNetwork(memory.Config{Seed: 7, QueueSize: 1 << 16, History: true})
	c, err := protocol.New(context.Background(), wrap(s), net.Join(name), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0),
		protocol.WithRand(rand.NewChaCha8([32]byte{9})), protocol.WithLogger(testLog(name)))
	if err != nil {
		tb.Fatal(err)
	}
	if liveBatch > 0 {
		protocol.SetLiveBatch(c, liveBatch)
	}
	ctx, cancel := context.WithCancel(context.Background())
	evs := c.Subscribe(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	lr := &liveReplay{c: c, relay: net.Join("relay"), evs: evs}
	var once atomic.Bool
	lr.stop = func() {
		if once.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("%s: Run: %v", name, err)
		}
		c.Close()
		s.Close()
	}
	tb.Cleanup(lr.stop)
	return lr
}

// replay publishes envs from the relay, the first alone (until the client stored it: its
// subscription is up), then the rest at once, and waits until the client holds want
// messages of group g or nothing changed for settle.
func (lr *liveReplay) replay(tb testing.TB, g protocol.GroupID, envs []transport.Envelope, want int, settle time.Duration) int {
	tb.Helper()
	ctx := context.Background()
	count := func() int {
		msgs, err := lr.c.Messages(ctx, g, protocol.MessageFilter{})
		if err != nil {
			tb.Fatal(err)
		}
		return len(msgs)
	}
	before := count()
	first := func() bool {
		if _, err := lr.relay.Publish(ctx, envs[0].Topic, envs[0].Payload); err != nil {
			tb.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if count() > before {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	// The subscription may not be up yet: a first publish it missed is sent again (the
	// relay's own copy is a new envelope for the network, the same payload for us).
	for try := 0; !first(); try++ {
		if try == 20 {
			tb.Fatal("the client never received the first envelope")
		}
	}
	for _, e := range envs[1:] {
		if _, err := lr.relay.Publish(ctx, e.Topic, e.Payload); err != nil {
			tb.Fatal(err)
		}
	}
	last, since := count(), time.Now()
	for time.Since(since) < settle {
		if last == want {
			return last
		}
		time.Sleep(2 * time.Millisecond)
		if n := count(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}

// waitReceived reads the client's events until n messages were received (dropped events
// count as received: their messages are stored) or timeout passed; it returns how many.
func (lr *liveReplay) waitReceived(n int, timeout time.Duration) int {
	got := 0
	t := time.NewTimer(timeout)
	defer t.Stop()
	for got < n {
		select {
		case ev := <-lr.evs:
			switch ev := ev.(type) {
			case *protocol.MessageReceived:
				got++
			case *protocol.EventsDropped:
				got += ev.Count
			}
		case <-t.C:
			return got
		}
	}
	return got
}

// fixtureEnvelopes returns the last n group messages of a fixture's topic (those its
// receiver's database has not seen), in the store's order.
func fixtureEnvelopes(tb testing.TB, tn *testNet, g protocol.GroupID, n int) []transport.Envelope {
	tb.Helper()
	info, err := tn.peers[0].c.Group(context.Background(), g)
	if err != nil {
		tb.Fatal(err)
	}
	envs, err := tn.net.Join("history-reader").History(context.Background(), []string{info.Topic}, time.Time{}, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(envs) < n {
		tb.Fatalf("%d envelopes in history, want at least %d", len(envs), n)
	}
	return envs[len(envs)-n:]
}

// TestLiveBurstBatched: a burst on the live subscription is processed in batches (fewer
// commits than envelopes), ends in exactly the state one transaction per envelope does,
// and emits every message once.
func TestLiveBurstBatched(t *testing.T) {
	tn, g, path, want := syncFixture(t)
	envs := fixtureEnvelopes(t, tn, g, want-2)
	var counted *countingBatches
	batched := startLiveReplay(t, path, "batched", 0, func(s *persistence.Store) storage.Store {
		counted = &countingBatches{Store: s}
		return counted
	})
	plain := startLiveReplay(t, path, "plain", 1, func(s *persistence.Store) storage.Store { return s })
	for _, lr := range []*liveReplay{batched, plain} {
		if got := lr.replay(t, g, envs, want, 5*time.Second); got != want {
			t.Fatalf("after the burst: %d messages, want %d", got, want)
		}
	}
	if b, p := batched.waitReceived(want-2, 5*time.Second), plain.waitReceived(want-2, 5*time.Second); b != want-2 || p != want-2 {
		t.Fatalf("message events: batched %d, one by one %d, want %d", b, p, want-2)
	}
	// Each copy saw the envelopes in the same order: the same state.
	if b, p := protocol.StateDigest(batched.c), protocol.StateDigest(plain.c); b != p {
		t.Fatal("the batched live burst ends in another state than one transaction per envelope")
	}
	batched.stop()
	plain.stop()
	n := counted.n.Load()
	if n == 0 || n > int64(len(envs))/2 {
		t.Fatalf("%d batches for a burst of %d envelopes: want at least one, and at most one for every two envelopes", n, len(envs))
	}
	t.Logf("%d envelopes in %d batches", len(envs), n)
}

// TestLiveBatchCommitFails: when a live batch's commit fails, nothing of it is stored or
// leaves the client (every event is a stored message), and the next Sync stores every
// message exactly once.
func TestLiveBatchCommitFails(t *testing.T) {
	tn, g, path, want := syncFixture(t)
	envs := fixtureEnvelopes(t, tn, g, want-2)
	var fs *failingBatches
	lr := startLiveReplay(t, path, "failing", 0, func(s *persistence.Store) storage.Store {
		fs = &failingBatches{Store: s, fail: true}
		return fs
	})
	got := lr.replay(t, g, envs, want, 500*time.Millisecond)
	if got == want {
		t.Fatalf("every message stored (%d) although every batch commit failed: no batch formed", got)
	}
	if n := received(lr.evs); n != got-2 {
		t.Fatalf("%d message events for %d messages stored after failed batches", n, got-2)
	}
	fs.fail = false
	if err := lr.c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs, err := lr.c.Messages(context.Background(), g, protocol.MessageFilter{})
	if err != nil || len(msgs) != want {
		t.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, want)
	}
	time.Sleep(50 * time.Millisecond)
	if n := received(lr.evs); n != want-got {
		t.Fatalf("%d more message events after the Sync, want %d", n, want-got)
	}
}

// BenchmarkLiveBurst: a running client receives 1000 group messages from 10 senders on its
// live subscription at once (a relay handing over a burst), with live batching (the
// default) and one transaction per envelope: CPU of the whole process per message.
func BenchmarkLiveBurst(b *testing.B) {
	const senders, per = 10, 100
	ctx := context.Background()
	tn := newTestNet(b, memory.Config{Seed: 83}, senders)
	dir := b.TempDir()
	rcv := tn.addAt("r", filepath.Join(dir, "r.db"))
	tn.connect(tn.peers...)
	g, err := tn.peers[0].c.CreateGroup(ctx, "burst", "", ids(tn.peers[1:]...)...)
	if err != nil {
		b.Fatal(err)
	}
	tn.settle()
	for _, p := range tn.peers[:senders] {
		if _, err := p.c.Send(ctx, g, protocol.Text("key")); err != nil {
			b.Fatal(err)
		}
	}
	tn.settle()
	held, err := rcv.c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil {
		b.Fatal(err)
	}
	rcv.stop()
	for _, p := range tn.peers[:senders] {
		p.pause()
	}
	info, _ := tn.peers[0].c.Group(ctx, g)
	tp := newTapTB(b, tn.net, info.Topic)
	text := protocol.Text(fmt.Sprintf("%0100d", 0))
	for range per {
		for _, p := range tn.peers[:senders] {
			if _, err := p.c.Send(ctx, g, text); err != nil {
				b.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(tp.all()) < senders*per && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	envs := tp.all()
	if len(envs) != senders*per {
		b.Fatalf("tapped %d envelopes, want %d", len(envs), senders*per)
	}
	for _, mode := range []struct {
		name  string
		batch int
	}{{"batched", 0}, {"one-by-one", 1}} {
		b.Run(fmt.Sprintf("%dx%d/%s", senders, per, mode.name), func(b *testing.B) {
			var cpu, wall time.Duration
			var batches int64
			for i := range b.N {
				var counted *countingBatches
				lr := startLiveReplay(b, filepath.Join(dir, "r.db"), fmt.Sprintf("%s%d", mode.name, i), mode.batch, func(s *persistence.Store) storage.Store {
					counted = &countingBatches{Store: s}
					return counted
				})
				// The first envelope alone (the subscription up), the rest measured.
				first := lr.replay(b, g, envs[:1], len(held)+1, 2*time.Second)
				if first != len(held)+1 {
					b.Fatalf("first envelope: %d messages, want %d", first, len(held)+1)
				}
				if lr.waitReceived(1, 2*time.Second) != 1 {
					b.Fatal("no event for the first envelope")
				}
				b0 := counted.n.Load()
				start, cpu0 := time.Now(), processCPU(b)
				for _, e := range envs[1:] {
					if _, err := lr.relay.Publish(ctx, e.Topic, e.Payload); err != nil {
						b.Fatal(err)
					}
				}
				if got := lr.waitReceived(senders*per-1, 30*time.Second); got != senders*per-1 {
					b.Fatalf("%d messages received in 30 s, want %d", got, senders*per-1)
				}
				cpu += processCPU(b) - cpu0
				wall += time.Since(start)
				batches += counted.n.Load() - b0
				lr.stop()
			}
			n := float64(b.N * (len(envs) - 1))
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/msg")
			b.ReportMetric(float64(wall.Nanoseconds())/n, "wall-ns/msg")
			b.ReportMetric(float64(batches)/float64(b.N), "batches")
		})
	}
}
