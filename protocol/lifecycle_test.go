package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// lifecycle runs create, talk, add, remove, leave, rename, describe over a lossy network
// and checks that every member converges and sees every message sent while it was a
// member exactly once.
func lifecycle(t *testing.T, n int, cfg memory.Config) {
	tn := newTestNet(t, cfg, n)
	tn.connect(tn.peers...)
	ctx := context.Background()
	admin := tn.peers[0]
	initial := tn.peers[:n-2]
	late := tn.peers[n-2:]
	g, err := admin.c.CreateGroup(ctx, "lifecycle", "", ids(initial[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	members := slices.Clone(initial)
	expect := map[*peer]map[string]bool{}
	talk := func(round string) {
		t.Helper()
		for _, p := range members {
			text := fmt.Sprintf("%s/%s", round, p.name)
			if _, err := p.c.Send(ctx, g, protocol.Text(text)); err != nil {
				t.Fatalf("%s: send: %v", p.name, err)
			}
			for _, q := range members {
				if expect[q] == nil {
					expect[q] = map[string]bool{}
				}
				expect[q][text] = true
			}
		}
		tn.settle()
	}
	check := func(stage string) {
		t.Helper()
		want := ids(members...)
		slices.Sort(want)
		for _, p := range members {
			info, err := p.c.Group(ctx, g)
			if err != nil {
				t.Fatalf("%s %s: %v", stage, p.name, err)
			}
			got := slices.Clone(info.Members)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %s has members %d, want %d", stage, p.name, len(got), len(want))
			}
			texts := p.texts(g)
			for text := range expect[p] {
				if texts[text] != 1 {
					t.Errorf("%s: %s saw %q %d times", stage, p.name, text, texts[text])
				}
			}
			for text, k := range texts {
				if k != 1 || !expect[p][text] {
					t.Errorf("%s: %s has unexpected %q x%d", stage, p.name, text, k)
				}
			}
		}
	}
	talk("r1")
	check("create")

	if err := admin.c.AddMembers(ctx, g, ids(late...)...); err != nil {
		t.Fatal(err)
	}
	members = append(members, late...)
	tn.settle()
	talk("r2")
	check("add")

	removed := members[1]
	if err := admin.c.RemoveMembers(ctx, g, removed.id); err != nil {
		t.Fatal(err)
	}
	members = slices.DeleteFunc(members, func(p *peer) bool { return p == removed })
	tn.settle()
	talk("r3")
	check("remove")
	if info, _ := removed.c.Group(ctx, g); info.Status != protocol.GroupRemoved {
		t.Errorf("removed member's status %v", info.Status)
	}

	leaver := members[len(members)-1]
	if err := leaver.c.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	members = members[:len(members)-1]
	tn.settle()
	if err := admin.c.SetName(ctx, g, "renamed"); err != nil {
		t.Fatal(err)
	}
	if err := admin.c.SetDescription(ctx, g, "described"); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	talk("r4")
	check("leave+rename")
	for _, p := range members {
		info, _ := p.c.Group(ctx, g)
		if info.Name != "renamed" || info.Description != "described" {
			t.Errorf("%s: name %q description %q", p.name, info.Name, info.Description)
		}
	}
	// Neither the removed member nor the leaver read anything after leaving.
	for _, p := range []*peer{removed, leaver} {
		for text := range p.texts(g) {
			if text[:2] == "r4" || (p == removed && text[:2] == "r3") {
				t.Errorf("%s read %q after leaving", p.name, text)
			}
		}
	}
}

func TestLifecyclePerfectNetwork(t *testing.T) {
	lifecycle(t, 5, memory.Config{Seed: 1})
}

func TestLifecycleLossyNetwork(t *testing.T) {
	lifecycle(t, 8, memory.Config{Seed: 7, DropRate: 0.10, DuplicateRate: 0.10, ReorderRate: 0.10,
		Delay: time.Millisecond, Jitter: time.Millisecond})
}

func TestLifecycle20Accounts(t *testing.T) {
	if testing.Short() {
		t.Skip("20 clients: skipped with -short")
	}
	lifecycle(t, 20, memory.Config{Seed: 47, DropRate: 0.10, DuplicateRate: 0.10, ReorderRate: 0.10})
}
