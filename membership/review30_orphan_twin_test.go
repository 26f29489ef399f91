package membership_test

import (
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// review30Orphan builds the scene of TestReview30OrphanedTwin: bob (admin) promotes carol
// twice (P1 clock 400, P2 clock 390, both parent pb: twins) and renames twice (N1 clock 500
// naming P1, N2 clock 490 naming P2: twins). Both promotions are needed (each named by a
// kept event of the first pass), N2 comes first in T and is kept, N1 (unneeded) is held.
// P1 is kept and applied, but its only child N1 is held: P1 is no head and in no head's
// past — nobody's next event will ever name it; it stays concurrent with every later event.
func review30Orphan(t *testing.T) *dag {
	d := newDAG(t, "review30-orphan")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("P1", "bob", ev(m.AdminsAdded, 400, "carol"), "pb")
	d.add("P2", "bob", ev(m.AdminsAdded, 390, "carol"), "pb")
	d.add("N1", "bob", m.Event{Type: m.NameChanged, Clock: 500, Name: "bob's"}, "P1")
	d.add("N2", "bob", m.Event{Type: m.NameChanged, Clock: 490, Name: "bob's"}, "P2")
	return d
}

// review30AddOnHeads signs e by author with parents heads (what an honest author names: the
// heads of its state) and records it under label.
func review30AddOnHeads(d *dag, label, author string, e m.Event, heads []m.EventID) m.Event {
	d.t.Helper()
	e.Parents = append([]m.EventID(nil), heads...)
	s := sign(d.t, author, d.chat, e)
	d.evs[label] = s
	d.all = append(d.all, s)
	return s
}

// TestReview30OrphanedTwin — fix 44: "needed" counts children that are themselves held,
// so a twin can be kept (applied) while no head has it in its causal past. Scene
// (review30Orphan): P1 orphaned; then carol steps down (SD, naming the heads: N2) and
// alice removes her (R, naming SD) — an honest removal of a member no longer admin.
// Two findings, asserted:
//  1. Derive == Update one at a time (the incremental path, causal_extend.go, takes SD
//     and R: they name exactly the heads; its premise "each kept event is a head or an
//     ancestor of one" is false for P1).
//  2. carol is removed: P1, orphaned, is concurrent with R and threatens it (C2: a
//     promotion of the removal's target), so one admin's twin pair makes its promotee
//     unremovable for as long as that admin stays (every later removal of carol is
//     concurrent with P1) — a permanent C2 shield no honest promotion gives.
func TestReview30OrphanedTwin(t *testing.T) {
	d := review30Orphan(t)
	mid := d.derive()
	if !review29Has(mid.Events, d.evs["P1"]) || !review29Has(mid.Pending, d.evs["N1"]) {
		t.Fatalf("setup: P1 applied %v, N1 held %v", review29Has(mid.Events, d.evs["P1"]), review29Has(mid.Pending, d.evs["N1"]))
	}
	t.Logf("heads %d (P1 a head %v)", len(mid.Heads), slices.Contains(mid.Heads, d.evs["P1"].ID()))
	// Honest authors name the heads of their state (mid's, then after SD).
	review30AddOnHeads(d, "SD", "carol", m.Event{Type: m.AdminRemoved, Clock: 600, Members: m.MembersOf(pubs("carol")...)}, mid.Heads)
	review30AddOnHeads(d, "R", "alice", ev(m.MemberRemoved, 700, "carol"), d.derive().Heads)
	whole := d.derive()
	st := d.derive(d.all[0])
	for _, e := range d.all[1:] {
		next, _, err := m.Update(&st, encodeMsg(t, d.chat, e), actors["alice"].pub, farFuture, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		st = next
	}
	t.Logf("Derive: carol a member %v, R applied %v; Update one at a time: carol a member %v, R applied %v",
		whole.IsMember(pubs("carol")[0]), review29Has(whole.Events, d.evs["R"]), st.IsMember(pubs("carol")[0]), review29Has(st.Events, d.evs["R"]))
	if !sameState(st, whole) {
		t.Errorf("Update one at a time differs from Derive: carol a member %v vs %v, %d applied vs %d, %d overridden vs %d",
			st.IsMember(pubs("carol")[0]), whole.IsMember(pubs("carol")[0]), len(st.Events), len(whole.Events), len(st.Overridden), len(whole.Overridden))
	}
	if again := d.derive(st.Log()...); !sameState(again, st) {
		t.Errorf("the incrementally updated state is not that of its own log (a member re-deriving it, e.g. at restart): carol a member %v vs %v",
			again.IsMember(pubs("carol")[0]), st.IsMember(pubs("carol")[0]))
	}
	if whole.IsMember(pubs("carol")[0]) {
		t.Errorf("Derive: carol, who stepped down and was removed by alice, is still a member (R overridden by the orphaned promotion P1)")
	}
}

// TestReview30OrphanByLeaveTwins — the orphan of TestReview30OrphanedTwin made by any
// member, of ANOTHER author's event, at the cost of its own leave. Scene: alice adds bob
// and carol; alice renames the group "x" (Q, a head nobody named yet). carol signs two
// leaves: CL1 (clock 400, parent "add": not naming Q) and CL2 (clock 450, parent Q). Both
// are unneeded twins: CL1, first in T, is kept; CL2 held — but CL2 marks Q as named
// (needed), so Q is no head and in no head's past: alice's next event cannot name it.
// alice then renames the group back to "g" (W, naming the heads, {CL1}): against the
// current state (name "x") W is valid and the shortcut (Update one at a time) applies it;
// judged in W's causal past (Q not in it: name "g") W changes nothing and Derive discards it.
// Asserted: Update one at a time == Derive (name, applied events), and the state is that of
// its own log.
func TestReview30OrphanByLeaveTwins(t *testing.T) {
	d := newDAG(t, "review30-orphan-leave")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("Q", "alice", m.Event{Type: m.NameChanged, Clock: 300, Name: "x"}, "add")
	d.add("CL1", "carol", ev(m.MemberRemoved, 400, "carol"), "add")
	d.add("CL2", "carol", ev(m.MemberRemoved, 450, "carol"), "Q")
	mid := d.derive()
	t.Logf("after carol's twins: name %q, CL2 held %v, heads %d (CL1 the head %v)", mid.Name, review29Has(mid.Pending, d.evs["CL2"]),
		len(mid.Heads), len(mid.Heads) == 1 && mid.Heads[0] == d.evs["CL1"].ID())
	review30AddOnHeads(d, "W", "alice", m.Event{Type: m.NameChanged, Clock: 500, Name: "g"}, mid.Heads) // alice names her heads
	whole := d.derive()
	st := d.derive(d.all[0])
	for _, e := range d.all[1:] {
		next, _, err := m.Update(&st, encodeMsg(t, d.chat, e), actors["alice"].pub, farFuture, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		st = next
	}
	t.Logf("Derive: name %q, W applied %v; Update one at a time: name %q, W applied %v", whole.Name, review29Has(whole.Events, d.evs["W"]),
		st.Name, review29Has(st.Events, d.evs["W"]))
	if st.Name != whole.Name || len(st.Events) != len(whole.Events) {
		t.Errorf("Update one at a time differs from Derive: name %q vs %q, %d applied vs %d", st.Name, whole.Name, len(st.Events), len(whole.Events))
	}
	if again := d.derive(st.Log()...); again.Name != st.Name {
		t.Errorf("the incrementally updated state is not that of its own log: name %q re-derived, %q held", again.Name, st.Name)
	}
}
