package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// createCost creates a v2 group of n members (the creator knows each member, the members
// know only the creator) and returns the bytes and publishes the creation moved on the
// network; every member must end up in the group with every member's device list (it
// reads a message of the last member, which it can verify only with that member's card).
func createCost(t *testing.T, n int, cfg memory.Config) (bytes, publishes int64) {
	t.Helper()
	tn := newEpochNet(t, cfg, n)
	a := tn.peers[0]
	for _, p := range tn.peers[1:] {
		tn.connect(a, p)
	}
	tn.settle()
	before := tn.net.Stats()
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "linear", "", ids(tn.peers[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	after := tn.net.Stats()
	for _, p := range tn.peers {
		info, err := p.c.Group(ctx, g)
		if err != nil || len(info.Members) != n {
			t.Fatalf("n=%d: %s: %d members (%v)", n, p.name, len(info.Members), err)
		}
	}
	last := tn.peers[n-1]
	text := fmt.Sprintf("from-last-%d", n)
	mustSend(t, last, g, text)
	waitTexts(t, tn, g, []string{text}, tn.peers[:n-1]...)
	return after.Bytes - before.Bytes, after.Publishes - before.Publishes
}

// TestCreateV2Linear: creating a v2 group moves O(N) bytes (spec: protocol, "Key schedule
// v2", "Welcome v2"): N − 1 creation Welcomes whose size does not depend on N, and the
// events and every card published once in the group. Per member, the creation of 40
// costs what the creation of 20 does (a Welcome holding every card would double it).
func TestCreateV2Linear(t *testing.T) {
	b20, p20 := createCost(t, 20, memory.Config{Seed: 20})
	b40, p40 := createCost(t, 40, memory.Config{Seed: 40})
	per20, per40 := float64(b20)/19, float64(b40)/39
	t.Logf("create 20: %d B in %d publishes (%.0f B per member); create 40: %d B in %d publishes (%.0f B per member)",
		b20, p20, per20, b40, p40, per40)
	if per40 > 1.2*per20 {
		t.Errorf("bytes per member grow with N: %.0f at 20, %.0f at 40", per20, per40)
	}
	// One Welcome per member and the creation messages (events and cards fit one publish
	// at these sizes), nothing else.
	if p40 > 39+2 {
		t.Errorf("create 40: %d publishes, want ≤ 41", p40)
	}
	if per40 > 2500 {
		t.Errorf("create 40: %.0f B per member, want ≤ 2500 (one Welcome and one card)", per40)
	}
}

// TestCreateV2Reordered: the creation messages reach the members before, with or after
// their Welcomes, or are lost live (then the store brings them): every member joins and
// reads every other member.
func TestCreateV2Reordered(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 7, DropRate: 0.2, ReorderRate: 0.5, Delay: 5 * time.Millisecond, Jitter: 5 * time.Millisecond}, 12)
	a := tn.peers[0]
	for _, p := range tn.peers[1:] {
		tn.connect(a, p)
	}
	tn.settle()
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "reordered", "", ids(tn.peers[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for i := 0; i < 3; i++ {
		tn.settle()
	}
	for _, p := range tn.peers {
		text := "hi-from-" + p.name
		mustSend(t, p, g, text)
		texts = append(texts, text)
	}
	waitTexts(t, tn, g, texts, tn.peers...)
}

// TestCreationWelcomeOnlyFromCreator: a creation Welcome (a join, no log) is held only
// when its sender created the chat (the chat id ends with the creator's key): another
// member cannot make us join, or hold, a group by sending one; the creator's makes us
// hold the group, joining (not listed) until its creation events arrive.
func TestCreationWelcomeOnlyFromCreator(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 3}, 3)
	a, m, v := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, m, v)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "real", "", m.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	info, err := a.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	forged := protocol.GroupID{1, 2, 3}
	must(t, protocol.SendCreationWelcomeForTest(m.c, v.id, forged, info.ChatID))
	tn.settle()
	if v2, _, _ := protocol.EpochInfo(v.c, forged); v2 {
		t.Fatal("a member that did not create the chat made us hold a group with a creation Welcome")
	}
	must(t, protocol.SendCreationWelcomeForTest(a.c, v.id, forged, info.ChatID))
	tn.settle()
	if v2, _, _ := protocol.EpochInfo(v.c, forged); !v2 {
		t.Fatal("the creator's creation Welcome was not held")
	}
	if _, err := v.c.Group(ctx, forged); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a group still joining is visible: %v", err)
	}
	gs, err := v.c.Groups(ctx)
	if err != nil || len(gs) != 0 {
		t.Fatalf("groups listed while joining: %v %v", gs, err)
	}
}
