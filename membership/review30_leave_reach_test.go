package membership_test

import (
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview30LeaveTwinReachesBack — fix 44 keeps every needed twin and applies them all
// ("same effect"), but twins with different pasts do not have the same THREATS: a leave
// twin signed with an older past threatens (C1) every event of its author concurrent with
// it, events its original leave had in its past included.
// Scene: alice promotes bob (pb); bob adds dave (Ad); alice renames naming Ad (N: built on
// the add); bob leaves (L1, naming N); alice sets the color naming L1 (L1 needed). bob's
// account key then signs L2, its leave with parent pb (before Ad) and a smaller clock;
// carol, a member with no admin right, leaves naming L2 (CL: valid, kept, so L2 is needed).
// Both leave twins are kept and applied (no C1 between twins, fix 44), and L2, concurrent
// with bob's Ad, threatens it: Ad is overridden and dave is no member — an add that every
// member applied and built on (N, the color) undone by a departed admin's twin and any
// member's leave. Before fix 44 the same twin displaced L1 (review 28); the design's
// "needed → kept" stops the displacement, not the reach of the copy's threats.
// Asserted: dave is a member and Ad applied.
// Suggested root fix: a kept event that has kept twins threatens (C1, C2) only what every
// one of its kept twins threatens (twins then have one effect AND one reach), or hold a
// needed twin whose past is not the union of its twins' (an author's copy cannot widen
// what its original reached).
func TestReview30LeaveTwinReachesBack(t *testing.T) {
	t.Run("named-by-leave", review30ReachNamed)
	t.Run("window", review30ReachWindow)
}

// review30ReachWindow: no colluder — bob sends L2 before anyone names L1 (no color change
// C): both leaves unneeded, L2 first in T is kept and L1 held ("swapping which copy is
// applied changes nothing"), yet L2 overrides Ad and dave is no member. (At the engine the
// departed-author gate refuses L2 where L1 was applied first; where L2 came first it is
// kept: see the report.)
func review30ReachWindow(t *testing.T) {
	d := newDAG(t, "review30-reach-window")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	ad := d.add("Ad", "bob", ev(m.MembersAdded, 400, "dave"), "pb")
	d.add("N", "alice", m.Event{Type: m.NameChanged, Clock: 500, Name: "with dave"}, "Ad")
	d.add("L1", "bob", ev(m.MemberRemoved, 600, "bob"), "N")
	l2 := d.add("L2", "bob", ev(m.MemberRemoved, 350, "bob"), "pb")
	st := d.derive()
	t.Logf("L1 held %v, L2 applied %v, Ad applied %v, dave a member %v", review29Has(st.Pending, d.evs["L1"]), review29Has(st.Events, l2),
		review29Has(st.Events, ad), st.IsMember(pubs("dave")[0]))
	if !st.IsMember(pubs("dave")[0]) || !review29Has(st.Events, ad) {
		t.Errorf("bob's backdated leave twin, L1 unneeded: L1 held, L2 applied undoes bob's add of dave that alice built on: dave a member %v, Ad applied %v",
			st.IsMember(pubs("dave")[0]), review29Has(st.Events, ad))
	}
}

func review30ReachNamed(t *testing.T) {
	d := newDAG(t, "review30-reach")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	ad := d.add("Ad", "bob", ev(m.MembersAdded, 400, "dave"), "pb")
	d.add("N", "alice", m.Event{Type: m.NameChanged, Clock: 500, Name: "with dave"}, "Ad")
	d.add("L1", "bob", ev(m.MemberRemoved, 600, "bob"), "N")
	d.add("C", "alice", m.Event{Type: m.ColorChanged, Clock: 700, Color: "#123456"}, "L1")
	before := d.derive()
	if !before.IsMember(pubs("dave")[0]) || before.IsMember(pubs("bob")[0]) {
		t.Fatalf("setup: dave a member %v, bob %v", before.IsMember(pubs("dave")[0]), before.IsMember(pubs("bob")[0]))
	}
	l2 := d.add("L2", "bob", ev(m.MemberRemoved, 350, "bob"), "pb")
	held := d.derive()
	t.Logf("L2 alone: held %v, dave a member %v", review29Has(held.Pending, l2), held.IsMember(pubs("dave")[0]))
	d.add("CL", "carol", ev(m.MemberRemoved, 800, "carol"), "L2")
	st := d.derive()
	t.Logf("with CL: L1 applied %v, L2 applied %v, Ad applied %v (overridden %v), dave a member %v, carol %v",
		review29Has(st.Events, d.evs["L1"]), review29Has(st.Events, l2), review29Has(st.Events, ad), review29Has(st.Overridden, ad),
		st.IsMember(pubs("dave")[0]), st.IsMember(pubs("carol")[0]))
	if !held.IsMember(pubs("dave")[0]) {
		t.Errorf("L2 alone (held): dave no member")
	}
	if !st.IsMember(pubs("dave")[0]) || !review29Has(st.Events, ad) {
		t.Errorf("bob's backdated leave twin, named by carol's leave, undid bob's add of dave that alice had built on: dave a member %v, Ad applied %v",
			st.IsMember(pubs("dave")[0]), review29Has(st.Events, ad))
	}
}
