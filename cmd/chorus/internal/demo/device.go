package demo

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/internal/chorustest"
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
	meter  *chorustest.Meter
	client *protocol.Client
	info   protocol.AccountInfo
	run    *chorustest.Running // nil when shut down
	// linkCode is the pairing code of a device started to be linked.
	linkCode string
	ev       *chorustest.Events // kept across restarts
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
		d.meter = chorustest.NewMeter(d.node)
	} else {
		d.meter.Inner = d.node
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
		d.ev = chorustest.NewEvents()
	}
	d.run = chorustest.Start(context.WithoutCancel(ctx), d.client, d.ev)
	return nil
}

// shutdown stops the engine and closes the node and the database (the app is closed).
func (d *device) shutdown() {
	if d.run == nil {
		return
	}
	d.run.Cancel()
	d.client.Close()
	_ = d.run.Stop()
	d.node.Close()
	d.db.Close()
	d.run = nil
}

func dbPath(dir, person, label string) string {
	return filepath.Join(dir, person+"-"+label, "chorus.db")
}
