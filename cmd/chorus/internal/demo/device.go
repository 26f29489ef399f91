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

// device is one installation: a chorustest.Device opened on its own sqlite file
// (chorus.Open) and its own embedded Waku relay node (connected to one relay of the
// network), its transport metered.
type device struct {
	chorustest.Device
	person, label string
	dbPath        string
	peer          string // the relay this device's node connects to
	storePeer     string
	log           *slog.Logger
	opts          []protocol.Option

	node  *waku.Node
	meter *chorustest.Meter // kept across restarts
}

func (d *device) name() string { return d.person + "/" + d.label }

// start opens the database and the node and runs the engine.
func (d *device) start(ctx context.Context, mode chorustest.Mode) error {
	d.Name = d.name()
	d.Open = d.open
	return d.Start(ctx, mode)
}

// open opens the node (once it sees its relay) and the app on the database.
func (d *device) open(ctx context.Context) (*protocol.Client, func(), error) {
	var err error
	if d.node, err = waku.New(ctx, waku.Config{Peers: []string{d.peer}, StorePeers: []string{d.storePeer}, Logger: d.log}); err != nil {
		return nil, nil, err
	}
	// The relay must see us before a publish can reach anyone.
	for d.node.PeerCount() == 0 {
		select {
		case <-ctx.Done():
			d.node.Close()
			return nil, nil, fmt.Errorf("%s: no relay peer: %w", d.name(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if d.meter == nil {
		d.meter = chorustest.NewMeter(d.node)
	} else {
		d.meter.Inner = d.node
	}
	db, err := chorus.Open(ctx, filepath.Dir(d.dbPath), d.meter, d.opts...)
	if err != nil {
		d.node.Close()
		return nil, nil, err
	}
	node := d.node
	return db.Client, func() { node.Close(); db.Close() }, nil
}

// shutdown stops the engine and closes the node and the database (the app is closed).
func (d *device) shutdown() { _ = d.Shutdown() }

func dbPath(dir, person, label string) string {
	return filepath.Join(dir, person+"-"+label, "chorus.db")
}
