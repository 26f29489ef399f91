// Command waku embeds Chorus over embedded go-waku nodes: Alice and Bob, each with a
// node on 127.0.0.1 and a data directory, become contacts, Alice creates a group and
// Bob reads her message. Its go.mod shows the lines a module embedding Chorus over
// transport/waku needs (the go-libp2p-pubsub replace); `make examples` builds and runs it.
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
	"github.com/chorus-im/chorus/transport/waku"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "chorus-waku-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := run(ctx, dir); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string) error {
	// Alice's node listens and serves history (store); Bob's node dials it.
	aliceNode, err := waku.New(ctx, waku.Config{Store: true, StorePath: ":memory:"})
	if err != nil {
		return err
	}
	defer aliceNode.Close()
	peerAddr := aliceNode.ListenAddrs()[0]
	alice, err := start(ctx, filepath.Join(dir, "alice"), aliceNode)
	if err != nil {
		return err
	}
	defer alice.Close()

	bob, bobNode, messages, err := startBob(ctx, filepath.Join(dir, "bob"), peerAddr)
	if err != nil {
		return err
	}
	defer bobNode.Close()
	defer bob.Close() // before its node

	// Contact codes go both ways (in an app: shown as QR codes and scanned).
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
	bobID := bobContact.ID

	g, err := alice.CreateGroup(ctx, "friends", "weekend plans", bobID)
	if err != nil {
		return err
	}
	if _, err := alice.Send(ctx, g, protocol.Text("hello")); err != nil {
		return err
	}
	select {
	case m := <-messages:
		fmt.Printf("bob read %q from alice over Waku\n", m.Content.Text)
		return nil
	case <-ctx.Done():
		return errors.New("bob did not receive the message")
	}
}

// startBob is the embedding the README quotes: a Waku node, a client on a data
// directory, an account, the engine running, and its events.
func startBob(ctx context.Context, dataDir, peerAddr string) (*chorus.Client, *waku.Node, <-chan protocol.Message, error) {
	// README:begin
	node, err := waku.New(ctx, waku.Config{Peers: []string{peerAddr}, StorePeers: []string{peerAddr}})
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := chorus.Open(ctx, dataDir, node) // sqlite in dataDir/chorus.db
	if err != nil {
		node.Close()
		return nil, nil, nil, err
	}
	if _, err := client.Account(); errors.Is(err, protocol.ErrNoAccount) {
		if _, err := client.CreateAccount(ctx); err != nil {
			client.Close()
			node.Close()
			return nil, nil, nil, err
		}
	}
	events := client.Subscribe(ctx) // before Run: no event is missed
	go client.Run(ctx)              // owns the engine's goroutines until ctx ends or Close
	messages := make(chan protocol.Message, 16)
	go func() {
		for ev := range events {
			switch e := ev.(type) {
			case *protocol.MessageReceived:
				select {
				case messages <- e.Message:
				case <-ctx.Done():
				}
			case *protocol.GroupJoined:
				log.Printf("%s… added us to %q", e.Inviter[:10], e.Name)
			case *protocol.MessageMissing: // lost for good: tell the user
				log.Printf("a message from %s… is missing", e.SenderAccount[:10])
			}
		}
	}()
	// README:end
	return client, node, messages, nil
}

// start opens a client with a new account on node and runs it.
func start(ctx context.Context, dataDir string, node protocol.Transport) (*chorus.Client, error) {
	// WithBurstSpread(0): the example wants its Welcome at once; an application keeps the
	// default, which sends a new group's Welcomes at random times within 30 s so that
	// outsiders cannot tie them together.
	client, err := chorus.Open(ctx, dataDir, node, protocol.WithBurstSpread(0))
	if err != nil {
		return nil, err
	}
	if _, err := client.CreateAccount(ctx); err != nil {
		client.Close()
		return nil, err
	}
	go client.Run(ctx)
	return client, nil
}
