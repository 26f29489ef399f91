// Command memory embeds Chorus over the in-process transport (transport/memory): Alice
// and Bob, each with a data directory, become contacts, Alice creates a group and Bob
// reads her message. `make examples` builds and runs it from its own module.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "chorus-memory-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := run(ctx, dir); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string) error {
	net := memory.NewNetwork(memory.Config{History: true}) // a perfect network with a store
	defer net.Close()
	alice, err := open(ctx, filepath.Join(dir, "alice"), net.Join("alice"))
	if err != nil {
		return err
	}
	defer alice.Close()
	bob, err := open(ctx, filepath.Join(dir, "bob"), net.Join("bob"))
	if err != nil {
		return err
	}
	defer bob.Close()
	events := bob.Subscribe(ctx)
	go alice.Run(ctx)
	go bob.Run(ctx)

	bobCode, err := bob.ContactCode(ctx)
	if err != nil {
		return err
	}
	bobContact, err := alice.AddContact(ctx, bobCode)
	if err != nil {
		return err
	}
	aliceCode, err := alice.ContactCode(ctx)
	if err != nil {
		return err
	}
	if _, err := bob.AddContact(ctx, aliceCode); err != nil {
		return err
	}
	g, err := alice.CreateGroup(ctx, "friends", "weekend plans", bobContact.ID)
	if err != nil {
		return err
	}
	if _, err := alice.Send(ctx, g, protocol.Text("hello")); err != nil {
		return err
	}
	for ev := range events {
		if e, ok := ev.(*protocol.MessageReceived); ok {
			info, err := bob.Group(ctx, e.Message.Group)
			if err != nil {
				return err
			}
			fmt.Printf("bob read %q in %q\n", e.Message.Content.Text, info.Name)
			return nil
		}
	}
	return errors.New("bob did not receive the message")
}

// open opens a client on dataDir with an account.
func open(ctx context.Context, dataDir string, t protocol.Transport) (*chorus.Client, error) {
	// WithBurstSpread(0): the example wants its Welcome at once; an application keeps the
	// default, which sends a new group's Welcomes at random times within 30 s so that
	// outsiders cannot tie them together.
	c, err := chorus.Open(ctx, dataDir, t, protocol.WithBurstSpread(0))
	if err != nil {
		return nil, err
	}
	if _, err := c.Account(); errors.Is(err, protocol.ErrNoAccount) {
		if _, err := c.CreateAccount(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}
