package chorus_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// Example opens two clients on an in-process network, makes them contacts, creates a
// group and exchanges a message.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, _ := os.MkdirTemp("", "chorus-example")
	defer os.RemoveAll(dir)
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()

	open := func(name string) *chorus.Client {
		c, err := chorus.Open(ctx, filepath.Join(dir, name), net.Join(name), protocol.WithBurstSpread(0)) // prompt Welcomes for the example
		if err != nil {
			panic(err)
		}
		if _, err := c.CreateAccount(ctx); err != nil {
			panic(err)
		}
		go c.Run(ctx)
		return c
	}
	alice, bob := open("alice"), open("bob")
	defer alice.Close()
	defer bob.Close()

	code, _ := bob.ContactCode(ctx)
	bobContact, _ := alice.AddContact(ctx, code)
	code, _ = alice.ContactCode(ctx)
	_, _ = bob.AddContact(ctx, code)

	g, _ := alice.CreateGroup(ctx, "friends", "alice and bob", bobContact.ID)
	_, _ = alice.Send(ctx, g, protocol.Text("hello, bob"))

	// Bob receives the Welcome and the message (Sync catches up from history).
	for i := 0; i < 100; i++ {
		_ = bob.Sync(ctx)
		msgs, _ := bob.Messages(ctx, g, protocol.MessageFilter{})
		if len(msgs) > 0 {
			info, _ := bob.Group(ctx, g)
			fmt.Printf("%s (%s): %q\n", info.Name, info.Description, msgs[0].Content.Text)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: friends (alice and bob): "hello, bob"
}
