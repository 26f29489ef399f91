package protocol_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/waku"
)

// TestWakuGroup runs the engine over real go-waku nodes in-process on loopback: a store
// node and one relay node per client. It creates a group, talks, removes a member (who
// then reads nothing more) and catches up a client that was stopped, from the store.
func TestWakuGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("real go-waku nodes: skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	hub, err := waku.New(ctx, waku.Config{Store: true, StorePath: ":memory:", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	type client struct {
		name string
		node *waku.Node
		c    *protocol.Client
		id   string
		run  *chorustest.Running
	}
	startClient := func(name string, store *persistence.Store) *client {
		node, err := waku.New(ctx, waku.Config{Peers: hub.ListenAddrs(), StorePeers: hub.ListenAddrs(), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for node.PeerCount() < 1 {
			if time.Now().After(deadline) {
				t.Fatal("no peers")
			}
			time.Sleep(5 * time.Millisecond)
		}
		c, err := protocol.New(ctx, store, node, protocol.WithRetryBackoff(50*time.Millisecond), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0),
			protocol.WithEpochs(true))
		if err != nil {
			t.Fatal(err)
		}
		cl := &client{name: name, node: node, c: c}
		if info, err := c.Account(); err == nil {
			cl.id = info.ID
		} else if info, err = c.CreateAccount(ctx); err == nil {
			cl.id = info.ID
		} else {
			t.Fatal(err)
		}
		cl.run = chorustest.Start(ctx, c, nil)
		return cl
	}
	halt := func(cl *client) {
		cl.run.Stop()
		cl.c.Close()
		cl.node.Close()
	}
	stores := map[string]*persistence.Store{}
	var clients []*client
	for _, name := range []string{"alice", "bob", "carol"} {
		s, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[name] = s
		clients = append(clients, startClient(name, s))
	}
	defer func() {
		for _, cl := range clients {
			halt(cl)
		}
	}()
	alice, bob, carol := clients[0], clients[1], clients[2]
	for _, a := range clients {
		code, err := a.c.ContactCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range clients {
			if a != b {
				if _, err := b.c.AddContact(ctx, code); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timeout: %s", what)
			}
			for _, cl := range clients {
				_ = cl.c.Sync(ctx)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	count := func(cl *client, g protocol.GroupID, text string) int {
		msgs, _ := cl.c.Messages(ctx, g, protocol.MessageFilter{})
		n := 0
		for _, m := range msgs {
			if m.Content.Text == text {
				n++
			}
		}
		return n
	}
	g, err := alice.c.CreateGroup(ctx, "over waku", "", bob.id, carol.id)
	if err != nil {
		t.Fatal(err)
	}
	waitFor("welcomes", func() bool {
		_, e1 := bob.c.Group(ctx, g)
		_, e2 := carol.c.Group(ctx, g)
		return e1 == nil && e2 == nil
	})
	for _, cl := range clients {
		if _, err := cl.c.Send(ctx, g, protocol.Text("hello from "+cl.name)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("messages", func() bool {
		for _, r := range clients {
			for _, s := range clients {
				if count(r, g, "hello from "+s.name) != 1 {
					return false
				}
			}
		}
		return true
	})
	// Bob stops; alice talks; bob restarts on the same store and catches up from the store node.
	halt(bob)
	if _, err := alice.c.Send(ctx, g, protocol.Text("while bob was away")); err != nil {
		t.Fatal(err)
	}
	bob = startClient("bob", stores["bob"])
	clients[1] = bob
	waitFor("catch-up", func() bool { return count(bob, g, "while bob was away") == 1 })
	// Carol is removed and reads nothing after.
	if err := alice.c.RemoveMembers(ctx, g, carol.id); err != nil {
		t.Fatal(err)
	}
	waitFor("removal", func() bool {
		info, _ := carol.c.Group(ctx, g)
		binfo, _ := bob.c.Group(ctx, g)
		return info.Status == protocol.GroupRemoved && len(binfo.Members) == 2
	})
	for _, cl := range []*client{alice, bob} {
		if _, err := cl.c.Send(ctx, g, protocol.Text("after carol left, from "+cl.name)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("post-removal messages", func() bool {
		return count(alice, g, "after carol left, from bob") == 1 && count(bob, g, "after carol left, from alice") == 1
	})
	time.Sleep(100 * time.Millisecond)
	if count(carol, g, "after carol left, from bob")+count(carol, g, "after carol left, from alice") != 0 {
		t.Fatal("removed member read post-removal traffic")
	}
	// Key schedule v2: carol's client keeps running and is fed every publish of the group
	// topic from the store node: it still reads nothing sent under the epochs after its
	// removal (it holds none of them).
	if v2, _, _ := protocol.EpochInfo(alice.c, g); !v2 {
		t.Fatal("group not under key schedule v2")
	}
	info, err := alice.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	envs, err := carol.node.History(ctx, []string{info.Topic}, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) < 6 {
		t.Fatalf("store returned %d publishes of the group topic", len(envs))
	}
	for _, e := range envs {
		protocol.Inject(carol.c, e.Topic, e.Payload)
	}
	if count(carol, g, "after carol left, from bob")+count(carol, g, "after carol left, from alice") != 0 {
		t.Fatal("removed member fed the topic's history read post-removal traffic")
	}
}
