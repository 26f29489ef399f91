package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// The protocol tests run on chorustest's Network and Device; peer and testNet keep the
// short names the tests use.

// peer is one device of a test network (a chorustest.Device, dev, under short names
// refreshed by every start and stop).
type peer struct {
	t     testing.TB
	name  string
	net   *memory.Network
	dev   *chorustest.Device
	c     *protocol.Client
	id    string
	store *persistence.Store
	node  *memory.Node
	run   *chorustest.Running // nil when stopped
	path  string
	// failPublish makes every publish fail with a transport error other than "no peers".
	failPublish *atomic.Bool
}

type testNet struct {
	t     testing.TB
	net   *memory.Network
	peers []*peer
	opts  []protocol.Option // options of every peer added (before the peer's own)
	cn    *chorustest.Network
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

// devices is the chorustest network over tn.net (created on first use).
func (tn *testNet) devices() *chorustest.Network {
	if tn.cn == nil {
		tn.cn = chorustest.Over(tn.t, tn.net)
	}
	return tn.cn
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

// noSpread turns the client's burst spreading off (unless spread) so that Welcomes are
// prompt.
func noSpread(spread bool) []protocol.Option {
	if spread {
		return nil
	}
	return []protocol.Option{protocol.WithBurstSpread(0)}
}

func (tn *testNet) addWith(name, path string, spread bool, opts ...protocol.Option) *peer {
	if os.Getenv("CHORUS_TEST_DEBUG") != "" {
		opts = append(opts, protocol.WithLogger(testLog(name)))
	}
	d := tn.devices().NewDevice(name, path, append(append(noSpread(spread), tn.opts...), opts...)...)
	return tn.adopt(tn.devices().Add(d, chorustest.Create), path)
}

// adopt makes a started device a peer of tn.
func (tn *testNet) adopt(d *chorustest.Device, path string) *peer {
	p := &peer{t: tn.t, name: d.Name, net: tn.net, dev: d, path: path, failPublish: tn.devices().Fault(d)}
	p.refresh()
	tn.peers = append(tn.peers, p)
	return p
}

// refresh copies the device's state into the short names.
func (p *peer) refresh() {
	d := p.dev
	p.c, p.id, p.store, p.node, p.run = d.Client, d.Info.ID, d.Store, d.Node, d.Run
}

// start starts the (stopped) peer again on its store (with a new account if create).
func (p *peer) start(create bool) {
	mode := chorustest.Reopen
	if create {
		mode = chorustest.Create
	}
	if err := p.dev.Start(context.Background(), mode); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	p.refresh()
}

// events is the peer's event record (every event since the peer was added, restarts
// included).
func (p *peer) events() *chorustest.Events { return p.dev.Events }

// halt stops Run, reporting its error.
func (p *peer) halt() {
	if err := p.dev.Halt(); err != nil {
		p.t.Errorf("%s: Run: %v", p.name, err)
	}
}

// stop stops Run, closes the client, node and store (idempotent).
func (p *peer) stop() {
	if p.dev == nil {
		return
	}
	if err := p.dev.Shutdown(); err != nil {
		p.t.Errorf("%s: Run: %v", p.name, err)
	}
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
func (tn *testNet) connect(peers ...*peer) { tn.devices().Connect(devs(peers)...) }

// settle waits for in-flight deliveries, then syncs every peer from history until
// nothing changes.
func (tn *testNet) settle(peers ...*peer) { tn.devices().Settle(devs(peers)...) }

func devs(ps []*peer) []*chorustest.Device {
	out := make([]*chorustest.Device, len(ps))
	for i, p := range ps {
		out[i] = p.dev
	}
	return out
}

func (p *peer) texts(g protocol.GroupID) map[string]int {
	out, err := chorustest.Texts(context.Background(), p.c, g)
	if err != nil {
		p.t.Fatal(err)
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

// newClient adds a running peer whose (empty, in-memory unless path is set) store is
// prepared by setup before Run starts (LinkCode, ImportAccount).
func (tn *testNet) newClient(name, path string, setup func(c *protocol.Client) error) *peer {
	if path == "" {
		path = ":memory:"
	}
	d := tn.devices().NewDevice(name, path, protocol.WithBurstSpread(0), protocol.WithDevice(name, "testos"))
	tn.devices().AddWith(d, func(_ context.Context, c *protocol.Client) error { return setup(c) })
	return tn.adopt(d, path)
}

// newDevice adds a peer with an empty store that waits to be linked (LinkCode) and runs;
// it returns the peer and its link code.
func (tn *testNet) newDevice(name string) (*peer, string) {
	d := tn.devices().NewDevice(name, ":memory:", protocol.WithBurstSpread(0), protocol.WithDevice(name, "testos"))
	tn.devices().Add(d, chorustest.Link)
	return tn.adopt(d, ":memory:"), d.LinkCode
}

// waitFor polls cond (syncing every running peer now and then) until it holds.
func (tn *testNet) waitFor(what string, cond func() bool, detail ...func() string) {
	tn.t.Helper()
	tn.devices().WaitFor(what, cond, detail...)
}

// link links a new device named name to holder's account and waits until it is in every
// active group of the holder (chorustest.Network.LinkNew).
func (tn *testNet) link(holder *peer, name string) *peer {
	tn.t.Helper()
	d := tn.devices().LinkNew(holder.dev, name, protocol.WithBurstSpread(0))
	return tn.adopt(d, ":memory:")
}

func installationOf(t testing.TB, p *peer) protocol.InstallationID {
	info, err := p.c.Account()
	if err != nil {
		t.Fatal(err)
	}
	return info.Installation
}

// byInstallation returns ps sorted by installation id: the first is a group's designated
// installation, the next ones its heal candidates in rank order.
func byInstallation(t testing.TB, ps []*peer) []*peer {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(x, y *peer) int {
		a, b := installationOf(t, x), installationOf(t, y)
		return bytes.Compare(a[:], b[:])
	})
	return out
}

// waitNotMember waits until every peer of ps no longer lists gone as a member of g.
func (tn *testNet) waitNotMember(what string, g protocol.GroupID, gone *peer, ps ...*peer) {
	tn.t.Helper()
	tn.waitFor(what, func() bool {
		for _, p := range ps {
			if info, err := p.c.Group(context.Background(), g); err != nil || slices.Contains(info.Members, gone.id) {
				return false
			}
		}
		return true
	})
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

// addVia adds a device named name with an in-memory store whose client runs over the
// transport via returns for its node (a test's wrapper around it: a slow reader, a store
// that misbehaves), created and connected by the device's Open; it is adopted as a peer.
func (tn *testNet) addVia(name string, via func(*memory.Node) protocol.Transport, opts ...protocol.Option) *peer {
	d := &chorustest.Device{Name: name}
	d.Open = func(ctx context.Context) (*protocol.Client, func(), error) {
		st, err := persistence.Open(":memory:")
		if err != nil {
			return nil, nil, err
		}
		node := tn.net.Join(name)
		c, err := protocol.New(ctx, st, via(node), opts...)
		if err != nil {
			node.Close()
			st.Close()
			return nil, nil, err
		}
		d.Store, d.Node = st, node
		return c, func() { node.Close(); st.Close() }, nil
	}
	return tn.adopt(tn.devices().Add(d, chorustest.Create), ":memory:")
}
