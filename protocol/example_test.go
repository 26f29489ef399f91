package protocol_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// exampleClient opens a client with an in-memory store on net and runs it.
func exampleClient(ctx context.Context, net *memory.Network, name string) *protocol.Client {
	store, err := persistence.Open(":memory:")
	if err != nil {
		panic(err)
	}
	// WithBurstSpread(0): the example wants its Welcomes at once. Applications keep the
	// default, which spreads a creation's Welcomes over DefaultBurstSpread (spec ›
	// Delivery › Burst spreading).
	c, err := protocol.New(ctx, store, net.Join(name), protocol.WithBurstSpread(0))
	if err != nil {
		panic(err)
	}
	if _, err := c.CreateAccount(ctx); err != nil {
		panic(err)
	}
	go c.Run(ctx)
	return c
}

// Example_group creates a group of three, renames it, removes a member and shows what
// each side sees.
func Example_group() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()
	alice, bob, carol := exampleClient(ctx, net, "alice"), exampleClient(ctx, net, "bob"), exampleClient(ctx, net, "carol")
	all := []*protocol.Client{alice, bob, carol}
	var ids []string
	for _, c := range all {
		code, _ := c.ContactCode(ctx)
		for _, other := range all {
			if other != c {
				ct, _ := other.AddContact(ctx, code)
				if other == alice {
					ids = append(ids, ct.ID)
				}
			}
		}
	}
	settle := func() {
		time.Sleep(20 * time.Millisecond)
		for _, c := range all {
			_ = c.Sync(ctx)
		}
	}
	g, _ := alice.CreateGroup(ctx, "book club", "monthly", ids...)
	settle()
	_, _ = bob.Send(ctx, g, protocol.Text("hi all"))
	settle()
	_ = alice.SetName(ctx, g, "reading club")
	_ = alice.RemoveMembers(ctx, g, ids[1]) // carol
	settle()
	_, _ = alice.Send(ctx, g, protocol.Text("carol cannot read this"))
	settle()
	for _, c := range []struct {
		name string
		c    *protocol.Client
	}{{"alice", alice}, {"bob", bob}, {"carol", carol}} {
		info, _ := c.c.Group(ctx, g)
		msgs, _ := c.c.Messages(ctx, g, protocol.MessageFilter{})
		texts := 0
		for _, m := range msgs {
			if m.Content.Type == protocol.ContentText {
				texts++
			}
		}
		fmt.Printf("%s: %q, %d members, %d texts, removed=%v\n", c.name, info.Name, len(info.Members), texts, info.Status == protocol.GroupRemoved)
	}
	// Output:
	// alice: "reading club", 2 members, 2 texts, removed=false
	// bob: "reading club", 2 members, 2 texts, removed=false
	// carol: "reading club", 2 members, 1 texts, removed=true
}

// ExampleClient_Subscribe prints the events a member sees.
func ExampleClient_Subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()
	alice, bob := exampleClient(ctx, net, "alice"), exampleClient(ctx, net, "bob")
	events := bob.Subscribe(ctx)
	code, _ := bob.ContactCode(ctx)
	b, _ := alice.AddContact(ctx, code)
	code, _ = alice.ContactCode(ctx)
	_, _ = bob.AddContact(ctx, code)
	g, _ := alice.CreateGroup(ctx, "pair", "", b.ID)
	_, _ = alice.Send(ctx, g, protocol.Text("ping"))
	for ev := range events {
		switch ev := ev.(type) {
		case *protocol.GroupJoined:
			fmt.Println("joined", ev.Name)
		case *protocol.MessageReceived:
			fmt.Println("received", ev.Message.Content.Text)
			return
		}
	}
	// Output:
	// joined pair
	// received ping
}
