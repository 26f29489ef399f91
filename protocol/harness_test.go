package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// peer is one client in a test network.
type peer struct {
	t     testing.TB
	name  string
	net   *memory.Network
	node  *memory.Node
	store *persistence.Store
	c     *protocol.Client
	id    string
	run   *chorustest.Running // nil when stopped
	ev    *chorustest.Events  // every event since the peer was added (restarts included)
	path  string
	opts  []protocol.Option // extra client options
	// spread keeps the client's default burst spreading; the harness turns it off
	// (WithBurstSpread(0)) so that Welcomes are prompt.
	spread bool
	// failPublish makes every publish fail with a transport error other than "no peers".
	failPublish atomic.Bool
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
	return tn.addWith(name, path, false, opts...)
}

// addSpreading adds a peer that keeps the client's default burst spreading.
func (tn *testNet) addSpreading(name, path string, opts ...protocol.Option) *peer {
	return tn.addWith(name, path, true, opts...)
}

func (tn *testNet) addWith(name, path string, spread bool, opts ...protocol.Option) *peer {
	t := tn.t
	p := &peer{t: t, name: name, net: tn.net, path: path, opts: append(append([]protocol.Option{}, tn.opts...), opts...), spread: spread}
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
	opts := []protocol.Option{protocol.WithRetryBackoff(20 * time.Millisecond), protocol.WithSyncInterval(-1)}
	if !p.spread {
		opts = append(opts, protocol.WithBurstSpread(0))
	}
	opts = append(opts, p.opts...)
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
	p.run = chorustest.Start(ctx, p.c, p.events())
}

// events is the peer's event record (created on first use).
func (p *peer) events() *chorustest.Events {
	if p.ev == nil {
		p.ev = chorustest.NewEvents()
	}
	return p.ev
}

// halt stops Run, reporting its error.
func (p *peer) halt() {
	if err := p.run.Stop(); err != nil {
		p.t.Errorf("%s: Run: %v", p.name, err)
	}
}

// stop stops Run, closes the client, node and store (idempotent).
func (p *peer) stop() {
	if p.run == nil {
		return
	}
	p.halt()
	p.c.Close()
	p.node.Close()
	p.store.Close()
	p.run = nil
}

// pause stops Run (no network input) but keeps the client usable.
func (p *peer) pause() {
	p.halt()
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
			if p.run == nil {
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
	return p.events().All(f)
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

// newClient adds a running peer whose (empty, in-memory unless path is set) store is
// prepared by setup before Run starts (LinkCode, ImportAccount).
func (tn *testNet) newClient(name, path string, setup func(c *protocol.Client) error) *peer {
	t := tn.t
	if path == "" {
		path = ":memory:"
	}
	p := &peer{t: t, name: name, net: tn.net, path: path}
	var err error
	if p.store, err = persistence.Open(p.path); err != nil {
		t.Fatal(err)
	}
	p.node = p.net.Join(name)
	ctx := context.Background()
	var logger *slog.Logger
	if os.Getenv("CHORUS_TEST_DEBUG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", name)
	}
	p.c, err = protocol.New(ctx, p.store, p.node, protocol.WithRetryBackoff(20*time.Millisecond), protocol.WithSyncInterval(-1),
		protocol.WithBurstSpread(0), protocol.WithDevice(name, "testos"), protocol.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := setup(p.c); err != nil {
		t.Fatal(err)
	}
	if info, err := p.c.Account(); err == nil {
		p.id = info.ID
	}
	p.run = chorustest.Start(ctx, p.c, p.events())
	tn.peers = append(tn.peers, p)
	return p
}

// newDevice adds a peer with an empty store that waits to be linked (LinkCode) and runs;
// it returns the peer and its link code.
func (tn *testNet) newDevice(name string) (*peer, string) {
	var code string
	p := tn.newClient(name, "", func(c *protocol.Client) error {
		var err error
		code, err = c.LinkCode(context.Background())
		return err
	})
	return p, code
}

// waitFor polls cond (syncing every running peer now and then) until it holds.
func (tn *testNet) waitFor(what string, cond func() bool, detail ...func() string) {
	tn.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; !cond(); i++ {
		if time.Now().After(deadline) {
			for _, d := range detail {
				what += ": " + d()
			}
			tn.t.Fatalf("timeout: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
		if i%20 == 19 {
			for _, p := range tn.peers {
				if p.run != nil {
					_ = p.c.Sync(context.Background())
				}
			}
		}
	}
}

// link links a new device named name to holder's account and waits until it is in every
// active group of the holder.
func (tn *testNet) link(holder *peer, name string) *peer {
	tn.t.Helper()
	ctx := context.Background()
	d, code := tn.newDevice(name)
	if _, err := holder.c.LinkDevice(ctx, code, name); err != nil {
		tn.t.Fatalf("link %s: %v", name, err)
	}
	groups, err := holder.c.Groups(ctx)
	if err != nil {
		tn.t.Fatal(err)
	}
	var inst protocol.InstallationID
	tn.waitFor(name+" linked", func() bool {
		info, err := d.c.Account()
		if err != nil {
			return false
		}
		d.id, inst = info.ID, info.Installation
		for _, g := range groups {
			if g.Status != protocol.GroupActive {
				continue
			}
			if _, err := d.c.Group(ctx, g.ID); err != nil {
				return false
			}
		}
		return true
	})
	// The link completes when the new installation's binding is back at the holder and
	// the holder announced it: every running peer in a group with the holder knows it.
	tn.waitFor(name+" known to the holder's groups", func() bool {
		for _, p := range tn.peers {
			if p == holder || p == d || p.run == nil || p.id == holder.id || !sharesGroup(ctx, p, groups) {
				continue
			}
			ct, err := p.c.Contact(ctx, holder.id)
			if err != nil || !slices.Contains(ct.Installations, inst) {
				return false
			}
		}
		return true
	})
	// ... and every running sibling installation lists it (otherwise a sibling's first
	// group message would leave the new device out of its key distribution until it next
	// sends: the link's binding round trip makes that window real).
	tn.waitFor(name+" known to its siblings", func() bool {
		for _, p := range tn.peers {
			if p == holder || p == d || p.run == nil || p.id != holder.id {
				continue
			}
			list, err := p.c.Installations(ctx)
			if err != nil || !slices.ContainsFunc(list, func(i protocol.Installation) bool { return i.ID == inst }) {
				return false
			}
		}
		return true
	})
	return d
}

// sharesGroup reports whether p is in one of groups (active).
func sharesGroup(ctx context.Context, p *peer, groups []protocol.GroupInfo) bool {
	for _, g := range groups {
		if g.Status != protocol.GroupActive {
			continue
		}
		if gi, err := p.c.Group(ctx, g.ID); err == nil && gi.Status == protocol.GroupActive {
			return true
		}
	}
	return false
}

func installationOf(t testing.TB, p *peer) protocol.InstallationID {
	info, err := p.c.Account()
	if err != nil {
		t.Fatal(err)
	}
	return info.Installation
}

// messageIDs maps text -> message id as p stores it.
func messageIDs(t testing.TB, p *peer, g protocol.GroupID) map[string]protocol.MessageID {
	msgs, err := p.c.Messages(context.Background(), g, protocol.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]protocol.MessageID{}
	for _, m := range msgs {
		if m.Content.Type == protocol.ContentText {
			out[m.Content.Text] = m.ID
		}
	}
	return out
}
