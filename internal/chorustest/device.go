package chorustest

import (
	"context"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// Mode says how a Device starts.
type Mode int

// How a device starts.
const (
	Reopen Mode = iota // the store holds the installation (or waits to be linked)
	Create             // a new account (CreateAccount)
	Link               // a new installation waiting to be linked (its code in LinkCode)
)

// An Opener opens a device's client (its store, its transport node and the client on
// them) and returns a function closing what it opened besides the client.
type Opener func(ctx context.Context) (c *protocol.Client, closeRest func(), err error)

// Device is one installation under test: a client opened by Open, at work (Run) between
// Start and Halt or Shutdown, its events recorded across restarts. A Network's devices
// are on its memory transport with their own sqlite store; the demo opens its devices on
// Waku (its own Opener).
type Device struct {
	Name string
	Open Opener

	Client   *protocol.Client
	Info     protocol.AccountInfo // the account (after Start, or once linked)
	LinkCode string               // after Start(ctx, Link)
	Run      *Running             // nil when stopped
	Events   *Events              // every event since the first Start

	// Set by a Network's opener.
	Store *persistence.Store
	Node  *memory.Node

	closeRest func()
}

// Start opens the device and runs it; mode says what the store holds.
func (d *Device) Start(ctx context.Context, mode Mode) error {
	return d.StartWith(ctx, func(ctx context.Context, c *protocol.Client) error {
		var err error
		switch mode {
		case Create:
			d.Info, err = c.CreateAccount(ctx)
		case Link:
			d.LinkCode, err = c.LinkCode(ctx)
		}
		// Reopen: the account, if the store has one, is read below.
		return err
	})
}

// StartWith opens the device, lets setup prepare its client (LinkCode, ImportAccount)
// and runs it. Info is the account if the client has one after setup.
func (d *Device) StartWith(ctx context.Context, setup func(ctx context.Context, c *protocol.Client) error) error {
	c, closeRest, err := d.Open(ctx)
	if err != nil {
		return err
	}
	d.Client, d.closeRest = c, closeRest
	if err := setup(ctx, c); err != nil {
		d.close()
		return err
	}
	if info, err := c.Account(); err == nil {
		d.Info = info
	}
	if d.Events == nil {
		d.Events = NewEvents()
	}
	d.Run = Start(context.WithoutCancel(ctx), c, d.Events)
	return nil
}

// Halt stops Run and returns its error; the client stays open (no network input).
func (d *Device) Halt() error { return d.Run.Stop() }

// Shutdown stops Run, closes the client and what Open opened, and returns Run's error.
// It does nothing on a device not running.
func (d *Device) Shutdown() error {
	if d.Run == nil {
		return nil
	}
	err := d.Run.Stop()
	d.close()
	d.Run = nil
	return err
}

func (d *Device) close() {
	d.Client.Close()
	if d.closeRest != nil {
		d.closeRest()
	}
}
