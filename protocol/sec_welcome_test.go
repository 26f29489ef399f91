package protocol_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecRemovalViaWelcome (issue 12, hole 2): alice removes carol; alice's second
// installation learns the removal first through a Welcome from alice's first installation
// (a sibling relay), then gets the removal's own group message. It must rotate before it
// next sends: a copy of carol's client from before the removal, fed every publish after
// it (except the removal), reads nothing alice1 sends after.
func TestSecRemovalViaWelcome(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 131}, 0)
	ctx := context.Background()
	alice, bob := tn.add("alice"), tn.add("bob")
	carol := tn.addPersistent("carol")
	tn.connect(alice, bob, carol)
	a1 := tn.link(alice, "alice1")
	tn.settle()
	g, err := alice.c.CreateGroup(ctx, "g", "", bob.id, carol.id)
	if err != nil {
		t.Fatal(err)
	}
	everyone := []*peer{alice, a1, bob, carol}
	tn.waitFor("everyone in the group", func() bool {
		for _, p := range everyone {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	for _, p := range everyone {
		if _, err := p.c.Send(ctx, g, protocol.Text("before/"+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.waitFor("carol reads everyone", func() bool {
		tx := carol.texts(g)
		return tx["before/alice"] == 1 && tx["before/alice1"] == 1 && tx["before/bob"] == 1
	})

	// Carol's keys from before the removal.
	carol.stop()
	clonePath := carol.path + ".clone"
	copyFile(t, carol.path, clonePath)
	for _, ext := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(carol.path + ext); err == nil {
			copyFile(t, carol.path+ext, clonePath+ext)
		}
	}
	carol.start(false)

	info, err := alice.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	tp := newTap(t, tn.net, info.Topic)
	a1.pause() // alice1 gets nothing from the network until we hand it something
	if err := alice.c.RemoveMembers(ctx, g, carol.id); err != nil {
		t.Fatal(err)
	}
	tn.settle(alice, bob, carol)
	if len(tp.all()) != 1 {
		t.Fatalf("tap saw %d publishes for the removal, want 1", len(tp.all()))
	}

	// alice1 learns the removal from alice's Welcome (a sibling relay), then gets the
	// removal's group message.
	if err := protocol.HandleWelcomeForTest(a1.c, alice.id, protocol.WelcomeForTest(alice.c, g, false)); err != nil {
		t.Fatal(err)
	}
	if gi, err := a1.c.Group(ctx, g); err != nil || slices.Contains(gi.Members, carol.id) {
		t.Fatalf("alice1 after the Welcome: %+v %v", gi, err)
	}
	for _, e := range tp.all() {
		protocol.Inject(a1.c, e.Topic, e.Payload)
	}
	secret := "after-removal-via-welcome"
	if _, err := a1.c.Send(ctx, g, protocol.Text(secret)); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("bob reads alice1", func() bool { return bob.texts(g)[secret] == 1 })

	// The clone of carol: every publish after the removal, not the removal itself.
	cloneStore, err := persistence.Open(clonePath)
	if err != nil {
		t.Fatal(err)
	}
	defer cloneStore.Close()
	cloneNode := tn.net.Join("clone")
	defer cloneNode.Close()
	cloneClient, err := protocol.New(ctx, cloneStore, cloneNode, protocol.WithBurstSpread(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cloneClient.Close()
	clone := &peer{t: t, name: "clone", c: cloneClient}
	// The tap's node gets each publish asynchronously, like bob's: wait for it too.
	tn.waitFor("the tap sees alice1's message", func() bool { return len(tp.all()) >= 2 })
	envs := tp.all()
	if len(envs) < 2 {
		t.Fatalf("tap saw %d publishes", len(envs))
	}
	for _, e := range envs[1:] {
		protocol.Inject(clone.c, e.Topic, e.Payload)
	}
	if clone.texts(g)["before/alice1"] != 1 {
		t.Fatal("the clone does not hold alice1's key from before the removal: the check below proves nothing")
	}
	for text := range clone.texts(g) {
		if strings.Contains(text, secret) {
			t.Errorf("removed carol (clone) read %q", text)
		}
	}
}
