package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// The Go side of the boundary benchmark (make bindings-bench): the same calls as
// bindings/rust/chorus/benches/boundary.rs, made directly in Go, on the same setup (two
// clients in a group on an in-memory network).

type benchPair struct {
	alice, bob *chorus.Client
	group      protocol.GroupID
	events     <-chan protocol.Event
}

func newBenchPair(b *testing.B) *benchPair {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	dir := b.TempDir()
	net := memory.NewNetwork(memory.Config{History: true})
	b.Cleanup(func() { net.Close() })
	open := func(name string) *chorus.Client {
		c, err := chorus.Open(ctx, filepath.Join(dir, name), net.Join(name), protocol.WithBurstSpread(0))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		if _, err := c.CreateAccount(ctx); err != nil {
			b.Fatal(err)
		}
		go c.Run(ctx)
		return c
	}
	p := &benchPair{alice: open("alice"), bob: open("bob")}
	p.events = p.bob.Subscribe(ctx)
	code, _ := p.bob.ContactCode(ctx)
	bc, err := p.alice.AddContact(ctx, code)
	if err != nil {
		b.Fatal(err)
	}
	code, _ = p.alice.ContactCode(ctx)
	if _, err := p.bob.AddContact(ctx, code); err != nil {
		b.Fatal(err)
	}
	if p.group, err = p.alice.CreateGroup(ctx, "bench", "", bc.ID); err != nil {
		b.Fatal(err)
	}
	for ev := range p.events {
		if _, ok := ev.(*protocol.GroupJoined); ok {
			break
		}
	}
	return p
}

// BenchmarkGoSend is one Send of a text message.
func BenchmarkGoSend(b *testing.B) {
	p := newBenchPair(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.alice.Send(ctx, p.group, protocol.Text("benchmark message")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoSendReceive is one Send and its MessageReceived event at the receiver.
func BenchmarkGoSendReceive(b *testing.B) {
	p := newBenchPair(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.alice.Send(ctx, p.group, protocol.Text("benchmark message")); err != nil {
			b.Fatal(err)
		}
		for ev := range p.events {
			if _, ok := ev.(*protocol.MessageReceived); ok {
				break
			}
		}
	}
}

// BenchmarkGoAccount is a cheap call (the account), for the fixed cost of a call.
func BenchmarkGoAccount(b *testing.B) {
	p := newBenchPair(b)
	for b.Loop() {
		if _, err := p.alice.Account(); err != nil {
			b.Fatal(err)
		}
	}
}
