package protocol_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// review20Scene: a creates a group with b and m, m made admin, every peer settled on one
// epoch; c (a contact of m's) is connected but not a member.
func review20Scene(t *testing.T, seed int64) (tn *testNet, a, b, m, c *peer, g protocol.GroupID) {
	t.Helper()
	tn = newTestNet(t, memory.Config{Seed: seed}, 0)
	a, b, m, c = tn.addPersistent("a"), tn.addPersistent("b"), tn.add("m"), tn.add("c")
	tn.connect(a, b, m, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "r20", "", b.id, m.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, m.id))
	tn.settle()
	tn.waitFor("m admin", func() bool {
		info, err := m.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Admins, m.id)
	})
	waitSameEpoch(tn, g, a, b, m)
	return tn, a, b, m, c, g
}

// TestReview20OldAdminAddNewcomer: m, an admin on a version before cycle12 (its membership
// key events carry no field 103), adds c. a and b refuse the add's key block as uncommitted
// and apply the add (spec "Frontier": "an add's newcomer, covered by no frontier event, is
// healed by the designated installation's rekey with a Welcome"; "Rotation block" ›
// Versions: "the members of this version heal their side"). Asserted: after a's send and a
// restart of a and b, c reads a's text and a and b read c's. Measured (merge12): nobody
// heals: a and b stay on the epoch before the add, c on m's (the add's), a's send and the
// restart change nothing; c reads nothing a sends and a, b nothing c sends.
func TestReview20OldAdminAddNewcomer(t *testing.T) {
	tn, a, b, m, c, g := review20Scene(t, 2001)
	ctx := context.Background()
	protocol.SetMemberUncommittedForTest(m.c, true)
	must(t, m.c.AddMembers(ctx, g, c.id))
	tn.settle()
	tn.waitFor("c a member at a and c", func() bool {
		ia, err := a.c.Group(ctx, g)
		if err != nil || !slices.Contains(ia.Members, c.id) {
			return false
		}
		ic, err := c.c.Group(ctx, g)
		return err == nil && slices.Contains(ic.Members, c.id)
	})
	tn.settle()
	for _, p := range []*peer{a, b, m, c} {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("%s: frontier %v epoch %x", p.name, shortFrontier(f), e[:4])
	}
	mustSend(t, a, g, "from a")
	tn.settle()
	for _, p := range []*peer{a, b, m, c} {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("after a's send: %s: frontier %v epoch %x", p.name, shortFrontier(f), e[:4])
	}
	mustSend(t, c, g, "from c")
	a.restart()
	b.restart()
	tn.settle()
	for _, p := range []*peer{a, b, m, c} {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("after restart: %s: frontier %v epoch %x", p.name, shortFrontier(f), e[:4])
	}
	waitTexts(t, tn, g, []string{"from a"}, b, c)
	waitTexts(t, tn, g, []string{"from c"}, a, b)
}
