package protocol_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
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
// restart change nothing; c reads nothing a sends and a, b nothing c sends. Also asserted
// (fix20): m, on its own epoch until a key event names its add, reads a's and c's texts and
// they read m's.
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
	// m, which applied its add, comes back too: the heal names the refused add as prev
	// (fix20), superseding it in m's frontier.
	waitTexts(t, tn, g, []string{"from a", "from c"}, m)
	mustSend(t, m, g, "from m")
	waitTexts(t, tn, g, []string{"from m"}, a, b, c)
}

// TestReview20OldAdminRemovalControl: m, an admin on a version before cycle12, removes b from a
// group of a, b, c and m. a and c refuse the removal's key block as uncommitted and apply
// the removal (its departure recorded, healed: spec "Frontier"). Asserted: a text a sends
// afterwards is read by c and never by b.
func TestReview20OldAdminRemovalControl(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 2002}, 0)
	a, b, m, c := tn.add("a"), tn.add("b"), tn.add("m"), tn.add("c")
	tn.connect(a, b, m, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "r20", "", b.id, m.id, c.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, m.id))
	tn.settle()
	tn.waitFor("m admin", func() bool {
		info, err := m.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Admins, m.id)
	})
	waitSameEpoch(tn, g, a, b, m, c)
	protocol.SetMemberUncommittedForTest(m.c, true)
	must(t, m.c.RemoveMembers(ctx, g, b.id))
	tn.settle()
	tn.waitFor("b removed at a and c", func() bool {
		for _, p := range []*peer{a, c} {
			if info, err := p.c.Group(ctx, g); err != nil || slices.Contains(info.Members, b.id) {
				return false
			}
		}
		return true
	})
	mustSend(t, a, g, "after removal")
	tn.settle()
	for _, p := range []*peer{a, b, m, c} {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("%s: frontier %v epoch %x", p.name, shortFrontier(f), e[:4])
	}
	waitTexts(t, tn, g, []string{"after removal"}, c)
	if b.texts(g)["after removal"] != 0 {
		t.Fatal("b, removed, read a's text")
	}
}

// TestReview20EmptyPrevEntrySplit: a creation's empty prev needs no field 103, so a
// member Welcome's entry with an empty prev for a membership key event without field 103
// passes checkJoinPrev (CheckMemberPrev(nil, nil), prevShown: the event is superseded),
// and once applied so, the event's uncommitted key block is no longer refused
// (processKeyBlock refuses it only "unless applied before") and SeenPrev takes its prev.
// m, an admin with a modified client, adds c with M (no field 103, block prev {F}, F a
// rekey), then rekeys R over {M}; both blocks reach a and b (sealed under the epoch of
// {F}); m's member Welcome to a gives M with an empty prev. a meets R, the Welcome, then
// M's publish; b meets R then M's publish (no Welcome; its order of the same blocks).
// Asserted: at once, M applied at both or neither and a and b on one frontier and epoch —
// or one of them one heal further, over the other's frontier (fix20: the applied add leaves
// c uncovered by F, and the designated installation heals at once: its rekey may not have
// reached the other yet) — and restarted and settled, one frontier and epoch (texts read
// both ways). Measured (merge12): a on {R} (the Welcome made M applied, then M's
// uncommitted block passed as "applied before" and SeenPrev took its prev {F}), b on
// {F, R} (M's block refused): different epochs, still so restarted and settled. With a
// meeting M's publish before the Welcome (the other order), a and b end on one epoch.
func TestReview20EmptyPrevEntrySplit(t *testing.T) {
	s := review20RekeyedScene(t, 2003)
	ctx := context.Background()
	protocol.SetMemberUncommittedForTest(s.m.c, true)
	must(t, s.m.c.AddMembers(ctx, s.g, s.c.id)) // M, prev {F}, no field 103
	_, fm, _ := protocol.EpochInfo(s.m.c, s.g)
	if len(fm) != 1 || s.f0.Contains(fm[0]) {
		t.Fatalf("precondition: m's frontier after M %s", shortFrontier(fm))
	}
	idM := fm[0]
	j, err := protocol.FrontierJoinForTest(s.m.c, s.g)
	must(t, err)
	if len(j) != 1 || j[0].Event != idM || !slices.Equal(j[0].Prev, s.f0) {
		t.Fatalf("precondition: m's join %+v", j)
	}
	must(t, s.m.c.Rekey(ctx, s.g)) // R, prev {M}
	_, fm, _ = protocol.EpochInfo(s.m.c, s.g)
	idR := fm[0]
	if len(fm) != 1 || idR == idM {
		t.Fatalf("precondition: m's frontier after R %s", shortFrontier(fm))
	}
	pubs := s.blocks(t, idM, idR)
	in := tapInbox(t, s.tn, s.a)
	j[0].Prev = nil // the lie: M with an empty prev
	must(t, protocol.SendWelcomeV2ForTest(s.m.c, installationOf(t, s.a), s.g, j))
	s.tn.waitFor("m's Welcome to a published", func() bool { return len(in.all()) > 0 })
	time.Sleep(20 * time.Millisecond)
	s.deliver(s.a, pubs, idR)
	for _, e := range in.all() {
		protocol.Inject(s.a.c, e.Topic, e.Payload)
	}
	s.deliver(s.a, pubs, idM)
	s.deliver(s.b, pubs, idR, idM)
	_, fa, ea := protocol.EpochInfo(s.a.c, s.g)
	_, fb, eb := protocol.EpochInfo(s.b.c, s.g)
	name := func(f epoch.Frontier) []string {
		var out []string
		for _, id := range f {
			switch {
			case id == idM:
				out = append(out, "M")
			case id == idR:
				out = append(out, "R")
			case s.f0.Contains(id):
				out = append(out, "F")
			default:
				out = append(out, shortFrontier(epoch.Frontier{id})...)
			}
		}
		return out
	}
	t.Logf("a: frontier %v epoch %x (M applied %v); b: frontier %v epoch %x (M applied %v)", name(fa), ea[:4],
		protocol.AppliedKeyEventForTest(s.a.c, s.g, idM), name(fb), eb[:4], protocol.AppliedKeyEventForTest(s.b.c, s.g, idM))
	// At once, a heal of the designated installation may be in flight (M's newcomer c holds
	// no seed of F: the applied add leaves it uncovered, spec "Frontier"), so either side
	// may have moved one rekey on, over the other's frontier; the same event reaches the same
	// outcome either way.
	healedOver := func(p *peer, f epoch.Frontier) bool {
		j, err := protocol.FrontierJoinForTest(p.c, s.g)
		return err == nil && len(j) == 1 && j[0].Rekey != nil && slices.Equal(j[0].Prev, f)
	}
	if protocol.AppliedKeyEventForTest(s.a.c, s.g, idM) != protocol.AppliedKeyEventForTest(s.b.c, s.g, idM) {
		t.Error("M applied at one of a (m's Welcome before M's block) and b (M's block alone), not the other")
	}
	if (!slices.Equal(fa, fb) || ea != eb) && !healedOver(s.a, fb) && !healedOver(s.b, fa) {
		t.Error("a (m's Welcome before M's block) and b (M's block alone) on different frontiers or epochs")
	}
	s.converged(t, map[epoch.ID]string{idM: "M", idR: "R"}) // restarted, settled: one epoch, texts read
}

// review20RekeyedScene is newCycleScene (with c) whose frontier F is a rekey of a's.
func review20RekeyedScene(t *testing.T, seed int64) *cycleScene {
	s := &cycleScene{rec: &pubRecorder{}, r: &scriptedRand{}}
	s.tn = newTestNet(t, memory.Config{Seed: seed, Tap: s.rec.tap}, 0)
	s.a, s.b = s.tn.addPersistent("a"), s.tn.addPersistent("b")
	s.m = s.tn.addAt("m", filepath.Join(t.TempDir(), "m.db"), protocol.WithRand(s.r))
	s.c = s.tn.add("c")
	peers := []*peer{s.a, s.b, s.m, s.c}
	s.tn.connect(peers...)
	ctx := context.Background()
	g, err := s.a.c.CreateGroup(ctx, "cycle", "", s.b.id, s.m.id)
	must(t, err)
	s.g = g
	s.tn.settle()
	must(t, s.a.c.AddAdmins(ctx, g, s.m.id))
	s.tn.settle()
	s.tn.waitFor("m admin", func() bool {
		info, err := s.m.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Admins, s.m.id)
	})
	waitSameEpoch(s.tn, g, s.a, s.b, s.m)
	must(t, s.a.c.Rekey(ctx, g))
	s.tn.settle()
	waitSameEpoch(s.tn, g, s.a, s.b, s.m)
	info, err := s.a.c.Group(ctx, g)
	must(t, err)
	s.topic = info.Topic
	s.kept = protocol.LiveEpochsForTest(s.m.c, g)
	_, s.f0, _ = protocol.EpochInfo(s.m.c, g)
	if len(s.f0) != 1 {
		t.Fatalf("precondition: frontier after a's rekey %s", shortFrontier(s.f0))
	}
	for _, p := range peers {
		p.pause()
	}
	s.rec.start()
	return s
}
