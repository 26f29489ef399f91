package protocol_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestStaleWelcomeDoesNotRejoin: a Welcome for a group we were removed from (or left),
// carrying the log from before the removal, neither re-joins us nor replaces our log (it is
// merged); a later genuine re-add still does.
func TestStaleWelcomeDoesNotRejoin(t *testing.T) {
	for _, leave := range []bool{false, true} {
		tn := newTestNet(t, memory.Config{Seed: 13}, 0)
		a, b, c := tn.add("a"), tn.add("b"), tn.add("c")
		tn.connect(a, b, c)
		ctx := context.Background()
		g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
		if err != nil {
			t.Fatal(err)
		}
		tn.settle()
		stale := protocol.WelcomeForTest(a.c, g, false) // names b as a member
		want := protocol.GroupRemoved
		if leave {
			want = protocol.GroupLeft
			err = b.c.Leave(ctx, g)
		} else {
			err = a.c.RemoveMembers(ctx, g, b.id)
		}
		if err != nil {
			t.Fatal(err)
		}
		tn.settle()
		status := func() protocol.GroupStatus {
			info, err := b.c.Group(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			return info.Status
		}
		if s := status(); s != want {
			t.Fatalf("leave=%v: status %v before the stale Welcome, want %v", leave, s, want)
		}
		sizeBefore, _, _ := protocol.StoredEventsForTest(b.c, g)
		for _, from := range []string{a.id, c.id} {
			if err := protocol.HandleWelcomeForTest(b.c, from, stale); err != nil {
				t.Logf("stale Welcome from %s: %v", from[:8], err)
			}
			if s := status(); s != want {
				t.Fatalf("leave=%v: a stale Welcome re-joined us: status %v", leave, s)
			}
		}
		size, _, _ := protocol.StoredEventsForTest(b.c, g)
		if size < sizeBefore {
			t.Fatalf("leave=%v: stored log replaced (%d bytes, was %d)", leave, size, sizeBefore)
		}
		if info, _ := b.c.Group(ctx, g); info.Status == protocol.GroupActive || contains(info.Members, b.id) {
			t.Fatalf("leave=%v: members %v", leave, info.Members)
		}
		// A genuine re-add brings b back.
		if err := a.c.AddMembers(ctx, g, b.id); err != nil {
			t.Fatal(err)
		}
		tn.waitFor("b re-added", func() bool { return status() == protocol.GroupActive })
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestConcurrentMembershipChanges: two admins change the membership at the same time
// (each before seeing the other's change): a removes c while b adds e and removes d. Every
// member converges on the same membership and heads; the next change merges the heads.
func TestConcurrentMembershipChanges(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 14}, 0)
	a, b := tn.addPersistent("a"), tn.addPersistent("b")
	c, d, e := tn.add("c"), tn.add("d"), tn.add("e")
	tn.connect(a, b, c, d, e)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id, d.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if err := a.c.AddAdmins(ctx, g, b.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	a.pause()
	b.pause()
	if err := a.c.RemoveMembers(ctx, g, c.id); err != nil {
		t.Fatal(err)
	}
	if err := b.c.AddMembers(ctx, g, e.id); err != nil {
		t.Fatal(err)
	}
	if err := b.c.RemoveMembers(ctx, g, d.id); err != nil {
		t.Fatal(err)
	}
	a.restart()
	b.restart()
	want := []string{a.id, b.id, e.id}
	tn.waitFor("convergence", func() bool {
		for _, p := range []*peer{a, b, e} {
			info, err := p.c.Group(ctx, g)
			if err != nil || len(info.Members) != len(want) || !contains(info.Members, e.id) || contains(info.Members, c.id) || contains(info.Members, d.id) {
				return false
			}
			if len(protocol.HeadsForTest(p.c, g)) != 2 {
				return false
			}
		}
		return true
	}, func() string {
		out := ""
		for _, p := range []*peer{a, b, e} {
			info, _ := p.c.Group(ctx, g)
			_, f, cur := protocol.EpochInfo(p.c, g)
			out += fmt.Sprintf("%s: status %v %d members, %d heads, frontier %d, epoch %x; ", p.name, info.Status, len(info.Members),
				len(protocol.HeadsForTest(p.c, g)), len(f), cur[:4])
		}
		return out
	})
	if err := a.c.SetName(ctx, g, "merged"); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("merge", func() bool {
		for _, p := range []*peer{a, b, e} {
			info, err := p.c.Group(ctx, g)
			if err != nil || info.Name != "merged" || len(protocol.HeadsForTest(p.c, g)) != 1 {
				return false
			}
		}
		return true
	})
}
