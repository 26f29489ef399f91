package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// peer is one client in a test network.
type peer struct {
	t      testing.TB
	name   string
	net    *memory.Network
	node   *memory.Node
	store  *persistence.Store
	c      *protocol.Client
	id     string
	cancel context.CancelFunc
	done   chan struct{}
	path   string
	opts   []protocol.Option // extra client options
	// failPublish makes every publish fail with a transport error other than "no peers".
	failPublish atomic.Bool

	mu     sync.Mutex
	events []protocol.Event
}

type testNet struct {
	t     testing.TB
	net   *memory.Network
	peers []*peer
	opts  []protocol.Option // options of every peer added (before the peer's own)
}

func newTestNet(t testing.TB, cfg memory.Config, n int) *testNet {
	cfg.History = cfg.HistoryLimit >= 0 // HistoryLimit < 0: no history store
	cfg.HistoryLimit = max(cfg.HistoryLimit, 0)
	tn := &testNet{t: t, net: memory.NewNetwork(cfg)}
	t.Cleanup(func() {
		for _, p := range tn.peers {
			p.stop()
		}
		tn.net.Close()
	})
	for i := 0; i < n; i++ {
		tn.add(fmt.Sprintf("p%d", i))
	}
	return tn
}

// add adds a peer with an in-memory store.
func (tn *testNet) add(name string) *peer { return tn.addAt(name, ":memory:") }

// addPersistent adds a peer whose store is a file (it can restart).
func (tn *testNet) addPersistent(name string) *peer {
	return tn.addAt(name, filepath.Join(tn.t.(*testing.T).TempDir(), name+".db"))
}

func (tn *testNet) addAt(name, path string, opts ...protocol.Option) *peer {
	t := tn.t
	p := &peer{t: t, name: name, net: tn.net, path: path, opts: append(append([]protocol.Option{}, tn.opts...), opts...)}
	p.start(true)
	tn.peers = append(tn.peers, p)
	return p
}

// start opens the store and client (creating the account if create) and runs it.
func (p *peer) start(create bool) {
	t := p.t
	var err error
	p.store, err = persistence.Open(p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.node = p.net.Join(p.name)
	ctx := context.Background()
	opts := append([]protocol.Option{protocol.WithRetryBackoff(20 * time.Millisecond), protocol.WithSyncInterval(-1)}, p.opts...)
	if os.Getenv("CHORUS_TEST_DEBUG") != "" {
		opts = append(opts, protocol.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", p.name)))
	}
	p.c, err = protocol.New(ctx, p.store, faultyNode{p.node, &p.failPublish}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if create {
		info, err := p.c.CreateAccount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.id = info.ID
	}
	rctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	p.done = make(chan struct{})
	evs := p.c.Subscribe(rctx)
	go func() {
		for ev := range evs {
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
		}
	}()
	go func() {
		defer close(p.done)
		if err := p.c.Run(rctx); err != nil {
			t.Errorf("%s: Run: %v", p.name, err)
		}
	}()
}

// stop stops Run, closes the client, node and store (idempotent).
func (p *peer) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
	p.c.Close()
	p.node.Close()
	p.store.Close()
	p.cancel = nil
}

// pause stops Run (no network input) but keeps the client usable.
func (p *peer) pause() {
	p.cancel()
	<-p.done
	p.cancel = func() {}
	p.done = make(chan struct{})
	close(p.done)
}

func (p *peer) restart() {
	p.stop()
	p.start(false)
}

// connect makes every peer a contact of every other (contact codes).
func (tn *testNet) connect(peers ...*peer) {
	ctx := context.Background()
	for _, a := range peers {
		code, err := a.c.ContactCode(ctx)
		if err != nil {
			tn.t.Fatal(err)
		}
		for _, b := range peers {
			if a == b {
				continue
			}
			if _, err := b.c.AddContact(ctx, code); err != nil {
				tn.t.Fatal(err)
			}
		}
	}
}

// settle waits for in-flight deliveries, then syncs every peer from history until
// nothing changes.
func (tn *testNet) settle(peers ...*peer) {
	if len(peers) == 0 {
		peers = tn.peers
	}
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		time.Sleep(30 * time.Millisecond)
		for _, p := range peers {
			if p.cancel == nil {
				continue
			}
			if err := p.c.Sync(ctx); err != nil {
				tn.t.Logf("%s: sync: %v", p.name, err)
			}
		}
	}
}

func (p *peer) texts(g protocol.GroupID) map[string]int {
	msgs, err := p.c.Messages(context.Background(), g, protocol.MessageFilter{})
	if err != nil {
		p.t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range msgs {
		if m.Content.Type == protocol.ContentText {
			out[m.Content.Text]++
		}
	}
	return out
}

func (p *peer) eventsOf(f func(protocol.Event) bool) []protocol.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []protocol.Event
	for _, e := range p.events {
		if f(e) {
			out = append(out, e)
		}
	}
	return out
}

func ids(ps ...*peer) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.id
	}
	return out
}

// faultyNode is a memory node whose publishes fail while fail is set.
type faultyNode struct {
	*memory.Node
	fail *atomic.Bool
}

func (n faultyNode) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	if n.fail.Load() {
		return [32]byte{}, errors.New("test: publish rejected")
	}
	return n.Node.Publish(ctx, topic, payload)
}
