package chorustest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// Network is a memory network of devices for tests: each device on its own node and its
// own sqlite store (in memory or a file), publishes failing on demand (Faulty). Every
// device is shut down by Close (registered with the test's Cleanup).
type Network struct {
	T       testing.TB
	Mem     *memory.Network
	Devices []*Device

	faults      map[*Device]*atomic.Bool
	topicFaults map[*Device]*atomic.Pointer[string]
}

// NewNetwork returns an empty network over memory.NewNetwork(cfg), except that a
// negative cfg.HistoryLimit means no history store at all.
func NewNetwork(t testing.TB, cfg memory.Config) *Network {
	cfg.History = cfg.HistoryLimit >= 0
	cfg.HistoryLimit = max(cfg.HistoryLimit, 0)
	n := Over(t, memory.NewNetwork(cfg))
	t.Cleanup(n.Close)
	return n
}

// Over returns an empty network of devices on mem; the caller closes it (Close).
func Over(t testing.TB, mem *memory.Network) *Network {
	return &Network{T: t, Mem: mem, faults: map[*Device]*atomic.Bool{}, topicFaults: map[*Device]*atomic.Pointer[string]{}}
}

// Close shuts every device down and closes the network.
func (n *Network) Close() {
	for _, d := range n.Devices {
		if err := d.Shutdown(); err != nil {
			n.T.Errorf("%s: Run: %v", d.Name, err)
		}
	}
	n.Mem.Close()
}

// NewDevice returns a device (not started, not yet in Devices) with its store at path
// (":memory:": none on disk) and its node named name. Its clients retry after 20 ms,
// do not sync on a timer, and log at debug level to stderr if CHORUS_TEST_DEBUG is set.
func (n *Network) NewDevice(name, path string, opts ...protocol.Option) *Device {
	d := &Device{Name: name}
	fail, failTopic := &atomic.Bool{}, &atomic.Pointer[string]{}
	n.faults[d], n.topicFaults[d] = fail, failTopic
	opts = append([]protocol.Option{protocol.WithRetryBackoff(20 * time.Millisecond), protocol.WithSyncInterval(-1)}, opts...)
	d.Open = func(ctx context.Context) (*protocol.Client, func(), error) {
		st, err := persistence.Open(path)
		if err != nil {
			return nil, nil, err
		}
		node := n.Mem.Join(name)
		o := opts
		if os.Getenv("CHORUS_TEST_DEBUG") != "" {
			o = append(slices.Clone(o), protocol.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", name)))
		}
		c, err := protocol.New(ctx, st, faultyNode{node, fail, failTopic}, o...)
		if err != nil {
			node.Close()
			st.Close()
			return nil, nil, err
		}
		d.Store, d.Node = st, node
		return c, func() { node.Close(); st.Close() }, nil
	}
	return d
}

// Add starts d (NewDevice) in mode and adds it to Devices; it fails the test on error.
func (n *Network) Add(d *Device, mode Mode) *Device {
	if err := d.Start(context.Background(), mode); err != nil {
		n.T.Fatalf("%s: %v", d.Name, err)
	}
	n.Devices = append(n.Devices, d)
	return d
}

// AddWith starts d with setup (StartWith) and adds it to Devices.
func (n *Network) AddWith(d *Device, setup func(ctx context.Context, c *protocol.Client) error) *Device {
	if err := d.StartWith(context.Background(), setup); err != nil {
		n.T.Fatalf("%s: %v", d.Name, err)
	}
	n.Devices = append(n.Devices, d)
	return d
}

// Fault is d's fault switch: while set, every publish of d fails with a transport error
// other than "no peers".
func (n *Network) Fault(d *Device) *atomic.Bool { return n.faults[d] }

// FaultTopic makes every publish of d on topic fail with transport.ErrNoPeers (its
// client's outbox keeps them and tries again, as for a node with no peer), until
// FaultTopic(d, ""): a path to one recipient held back while the others work.
func (n *Network) FaultTopic(d *Device, topic string) {
	if topic == "" {
		n.topicFaults[d].Store(nil)
		return
	}
	n.topicFaults[d].Store(&topic)
}

// faultyNode is a memory node whose publishes fail while fail is set, and those on the
// topic failTopic names.
type faultyNode struct {
	*memory.Node
	fail      *atomic.Bool
	failTopic *atomic.Pointer[string]
}

func (f faultyNode) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	if ft := f.failTopic.Load(); ft != nil && *ft == topic {
		return [32]byte{}, transport.ErrNoPeers
	}
	if f.fail.Load() {
		return [32]byte{}, errors.New("test: publish rejected")
	}
	return f.Node.Publish(ctx, topic, payload)
}

// Connect makes every device a contact of every other (contact codes).
func (n *Network) Connect(devs ...*Device) {
	ctx := context.Background()
	for _, a := range devs {
		code, err := a.Client.ContactCode(ctx)
		if err != nil {
			n.T.Fatal(err)
		}
		for _, b := range devs {
			if a == b {
				continue
			}
			if _, err := b.Client.AddContact(ctx, code); err != nil {
				n.T.Fatal(err)
			}
		}
	}
}

// Settle waits for in-flight deliveries, then syncs every running device of devs (all
// if none) from history, three times.
func (n *Network) Settle(devs ...*Device) {
	if len(devs) == 0 {
		devs = n.Devices
	}
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		time.Sleep(30 * time.Millisecond)
		for _, d := range devs {
			if d.Run == nil {
				continue
			}
			if err := d.Client.Sync(ctx); err != nil {
				n.T.Logf("%s: sync: %v", d.Name, err)
			}
		}
	}
}

// WaitFor polls cond (syncing every running device now and then) until it holds, and
// fails the test after 30 s, naming what (and the detail).
func (n *Network) WaitFor(what string, cond func() bool, detail ...func() string) {
	n.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; !cond(); i++ {
		if time.Now().After(deadline) {
			for _, d := range detail {
				what += ": " + d()
			}
			n.T.Fatalf("timeout: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
		if i%20 == 19 {
			for _, d := range n.Devices {
				if d.Run != nil {
					_ = d.Client.Sync(context.Background())
				}
			}
		}
	}
}

// LinkNew adds a new device named name (options opts, then WithDevice(name, "testos"))
// to holder's account (an in-memory store, linked by its link code) and waits until it
// is in every active group of the holder, every running device sharing a group with the
// holder knows it, and every running sibling lists it.
func (n *Network) LinkNew(holder *Device, name string, opts ...protocol.Option) *Device {
	n.T.Helper()
	ctx := context.Background()
	d := n.Add(n.NewDevice(name, ":memory:", append(slices.Clone(opts), protocol.WithDevice(name, "testos"))...), Link)
	if _, err := holder.Client.LinkDevice(ctx, d.LinkCode, name); err != nil {
		n.T.Fatalf("link %s: %v", name, err)
	}
	groups, err := holder.Client.Groups(ctx)
	if err != nil {
		n.T.Fatal(err)
	}
	n.WaitFor(name+" linked", func() bool {
		info, err := d.Client.Account()
		if err != nil {
			return false
		}
		d.Info = info
		for _, g := range groups {
			if g.Status != protocol.GroupActive {
				continue
			}
			if _, err := d.Client.Group(ctx, g.ID); err != nil {
				return false
			}
		}
		return true
	})
	inst := d.Info.Installation
	// The link completes when the new installation's binding is back at the holder and
	// the holder announced it: every running device in a group with the holder knows it.
	n.WaitFor(name+" known to the holder's groups", func() bool {
		for _, p := range n.Devices {
			if p == holder || p == d || p.Run == nil || p.Info.ID == holder.Info.ID || !SharesGroup(ctx, p, groups) {
				continue
			}
			ct, err := p.Client.Contact(ctx, holder.Info.ID)
			if err != nil || !slices.Contains(ct.Installations, inst) {
				return false
			}
		}
		return true
	})
	// ... and every running sibling installation lists it (otherwise a sibling's first
	// group message would leave the new device out of its key distribution until it next
	// sends: the link's binding round trip makes that window real).
	n.WaitFor(name+" known to its siblings", func() bool {
		for _, p := range n.Devices {
			if p == holder || p == d || p.Run == nil || p.Info.ID != holder.Info.ID {
				continue
			}
			list, err := p.Client.Installations(ctx)
			if err != nil || !slices.ContainsFunc(list, func(i protocol.Installation) bool { return i.ID == inst }) {
				return false
			}
		}
		return true
	})
	return d
}

// SharesGroup reports whether d is active in one of groups (those active).
func SharesGroup(ctx context.Context, d *Device, groups []protocol.GroupInfo) bool {
	for _, g := range groups {
		if g.Status != protocol.GroupActive {
			continue
		}
		if gi, err := d.Client.Group(ctx, g.ID); err == nil && gi.Status == protocol.GroupActive {
			return true
		}
	}
	return false
}

// Texts counts the text messages c stores in group g, by text.
func Texts(ctx context.Context, c *protocol.Client, g protocol.GroupID) (map[string]int, error) {
	msgs, err := c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, m := range msgs {
		if m.Content.Type == protocol.ContentText {
			out[m.Content.Text]++
		}
	}
	return out, nil
}
