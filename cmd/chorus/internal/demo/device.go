package demo

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/waku"
)

// device is one installation: its own sqlite file, its own embedded Waku relay node
// (connected to one relay of the network), and the engine running on them.
type device struct {
	person, label string
	dbPath        string
	peer          string // the relay this device's node connects to
	storePeer     string
	log           *slog.Logger
	opts          []protocol.Option

	db     *chorus.Client // the client on its data directory (chorus.Open)
	node   *waku.Node
	meter  *meter
	client *protocol.Client
	info   protocol.AccountInfo
	stop   context.CancelFunc
	// linkCode is the pairing code of a device started to be linked.
	linkCode string
	done     chan struct{}
	ev       *collector
}

func (d *device) name() string { return d.person + "/" + d.label }

// How a device starts.
const (
	reopen = iota // the store holds the installation
	create        // a new account
	link          // a new installation waiting to be linked (its link code in d.linkCode)
)

// start opens the database and the node and runs the engine.
func (d *device) start(ctx context.Context, mode int) error {
	var err error
	if d.node, err = waku.New(ctx, waku.Config{Peers: []string{d.peer}, StorePeers: []string{d.storePeer}, Logger: d.log}); err != nil {
		return err
	}
	// The relay must see us before a publish can reach anyone.
	for d.node.PeerCount() == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: no relay peer: %w", d.name(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if d.meter == nil {
		d.meter = newMeter(d.node)
	} else {
		d.meter.inner = d.node
	}
	if d.db, err = chorus.Open(ctx, filepath.Dir(d.dbPath), d.meter, d.opts...); err != nil {
		return err
	}
	d.client = d.db.Client
	switch mode {
	case create:
		if d.info, err = d.client.CreateAccount(ctx); err != nil {
			return err
		}
	case link:
		if d.linkCode, err = d.client.LinkCode(ctx); err != nil {
			return err
		}
	default:
		if d.info, err = d.client.Account(); err != nil {
			return err
		}
	}
	if d.ev == nil {
		d.ev = newCollector()
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = cancel
	d.done = make(chan struct{})
	events := d.client.Subscribe(rctx)
	go d.ev.collect(events)
	go func() {
		defer close(d.done)
		_ = d.client.Run(rctx)
	}()
	return nil
}

// shutdown stops the engine and closes the node and the database (the app is closed).
func (d *device) shutdown() {
	if d.stop == nil {
		return
	}
	d.stop()
	d.client.Close()
	<-d.done
	d.node.Close()
	d.db.Close()
	d.stop = nil
}

func dbPath(dir, person, label string) string {
	return filepath.Join(dir, person+"-"+label, "chorus.db")
}

// collector records a device's engine events.
type collector struct {
	mu       sync.Mutex
	changed  chan struct{}
	received map[protocol.MessageID][]time.Time // arrival times (duplicates would show as >1)
	joined   map[protocol.GroupID]*protocol.GroupJoined
	members  []*protocol.MembershipChanged
	missing  []*protocol.MessageMissing
	linked   *protocol.AccountLinked
	devices  []*protocol.InstallationsChanged
	dropped  int
}

func newCollector() *collector {
	return &collector{changed: make(chan struct{}), received: map[protocol.MessageID][]time.Time{},
		joined: map[protocol.GroupID]*protocol.GroupJoined{}}
}

func (c *collector) collect(events <-chan protocol.Event) {
	for ev := range events {
		now := time.Now()
		c.mu.Lock()
		switch e := ev.(type) {
		case *protocol.MessageReceived:
			c.received[e.Message.ID] = append(c.received[e.Message.ID], now)
		case *protocol.GroupJoined:
			c.joined[e.Group] = e
		case *protocol.MembershipChanged:
			c.members = append(c.members, e)
		case *protocol.MessageMissing:
			c.missing = append(c.missing, e)
		case *protocol.AccountLinked:
			c.linked = e
		case *protocol.InstallationsChanged:
			c.devices = append(c.devices, e)
		case *protocol.EventsDropped:
			c.dropped += e.Count
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// wait waits until cond (called under the lock) holds, or the timeout.
func (c *collector) wait(ctx context.Context, timeout time.Duration, cond predicate) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		ok := cond(c)
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// arrivals returns how often and when message id arrived.
func (c *collector) arrivals(id protocol.MessageID) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.received[id]...)
}
