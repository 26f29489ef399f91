package membership_test

import (
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// departedDAG: alice (creator) adds bob, carol, dave, eve and frank and promotes bob
// ("pb"); bob steps down ("sb") and alice removes him ("db"). Events bob signs afterwards
// naming "pb" (the past a removed installation kept) are concurrent with sb and db: rule C1
// overrides them (review 27 findings 3, 4).
func departedDAG(t *testing.T, label string) *dag {
	d := newDAG(t, label)
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave", "eve", "frank"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("sb", "bob", m.Event{Type: m.AdminRemoved, Clock: 400, Members: m.MembersOf(pubs("bob")...)}, "pb")
	d.add("db", "alice", ev(m.MemberRemoved, 500, "bob"), "sb")
	return d
}

func overriddenHas(st m.State, e m.Event) bool {
	for _, o := range st.Overridden {
		if o.ID() == e.ID() {
			return true
		}
	}
	return false
}

// TestCausalDepartedPromotionThreatensNothing (review 27 finding 3): alice removes carol;
// bob, removed meanwhile, promotes carol with the past he kept. The promotion is
// overridden (C1: bob's removal and step-down are concurrent with it) and so threatens
// nothing: alice's removal of carol applies (before: C2 counted it, carol was back).
func TestCausalDepartedPromotionThreatensNothing(t *testing.T) {
	departedEventOverridden(t, "departed-promotion", m.AdminsAdded, func(d *dag) {
		d.add("dc", "alice", ev(m.MemberRemoved, 600, "carol"), "db")
	})
}

// TestCausalDepartedRemovalThreatensNothing (review 27 finding 4): carol leaves; bob,
// removed meanwhile, removes carol with the past he kept. His removal is overridden and does
// not override carol's leave (before: C1 counted it, carol was back).
func TestCausalDepartedRemovalThreatensNothing(t *testing.T) {
	departedEventOverridden(t, "departed-removal", m.MemberRemoved, func(d *dag) {
		d.add("leave", "carol", ev(m.MemberRemoved, 350, "carol"), "add")
	})
}

// departedEventOverridden builds departedDAG, adds alice's or carol's events (setup), then
// bob's event of type typ on carol, naming "pb" (the past he kept), at clocks before and
// after his removal and far ahead. Asserted at each clock, in every delivery order: the
// members are alice, dave, eve and frank (carol not), alice the only admin, and bob's event
// is the one overridden.
func departedEventOverridden(t *testing.T, label string, typ m.EventType, setup func(d *dag)) {
	t.Helper()
	for _, clock := range []uint64{301, 600, 1 << 40} {
		d := departedDAG(t, label)
		setup(d)
		x := d.add("x", "bob", ev(typ, clock, "carol"), "pb")
		st := checkOrders(t, d, []string{"alice", "dave", "eve", "frank"}, []string{"alice"})
		if !overriddenHas(st, x) || len(st.Overridden) != 1 {
			t.Fatalf("clock %d: %d overridden", clock, len(st.Overridden))
		}
	}
}

// TestCausalThreatChainsAndCycles: chains resolve from their unthreatened end, odd cycles
// stay undecided (no removal applies), whatever the delivery order. Bob, removed, promotes
// carol, dave and eve on three branches of his old past (each overridden): each of them is
// an admin in the past of what it signs on its branch, and not in the others'.
func TestCausalThreatChainsAndCycles(t *testing.T) {
	promote := func(d *dag) {
		d.add("pc", "bob", ev(m.AdminsAdded, 310, "carol"), "pb")
		d.add("pd", "bob", ev(m.AdminsAdded, 311, "dave"), "pb")
		d.add("pe", "bob", ev(m.AdminsAdded, 312, "eve"), "pb")
	}
	// Chain: alice removes dave, dave removes eve, eve removes frank, all concurrent.
	// alice's removal applies (its C2 threat pd is defeated), dave's is defeated, eve's
	// applies (its one threat defeated): dave and frank are removed, eve stays.
	d := departedDAG(t, "threat-chain")
	promote(d)
	d.add("rad", "alice", ev(m.MemberRemoved, 600, "dave"), "db")
	rde := d.add("rde", "dave", ev(m.MemberRemoved, 601, "eve"), "pd")
	d.add("ref", "eve", ev(m.MemberRemoved, 602, "frank"), "pe")
	st := checkOrders(t, d, []string{"alice", "carol", "eve"}, []string{"alice"})
	if !overriddenHas(st, rde) || len(st.Overridden) != 4 {
		t.Fatalf("chain: %d overridden", len(st.Overridden))
	}
	// 3-cycle: carol removes dave, dave removes eve, eve removes carol, all concurrent: no
	// fixed point of "applied iff no applied threat" exists; the least one leaves all three
	// undecided: none applies, and carol's rename (concurrent with eve's removal of her) does
	// not apply either.
	d = departedDAG(t, "threat-cycle")
	promote(d)
	d.add("rcd", "carol", ev(m.MemberRemoved, 600, "dave"), "pc")
	d.add("rde", "dave", ev(m.MemberRemoved, 601, "eve"), "pd")
	d.add("rec", "eve", ev(m.MemberRemoved, 602, "carol"), "pe")
	d.add("rename", "carol", m.Event{Type: m.NameChanged, Name: "c", Clock: 700}, "rcd")
	st = checkOrders(t, d, []string{"alice", "carol", "dave", "eve", "frank"}, []string{"alice"})
	if len(st.Overridden) != 7 || st.Name != "g" {
		t.Fatalf("cycle: %d overridden, name %q", len(st.Overridden), st.Name)
	}
	// The cycle broken by alice removing eve: eve's removal of carol is defeated, carol's
	// of dave applies, dave's of eve is defeated (dave removed).
	d.add("rae", "alice", ev(m.MemberRemoved, 800, "eve"), "db")
	st = checkOrders(t, d, []string{"alice", "carol", "frank"}, []string{"alice"})
	if st.Name != "c" {
		t.Fatalf("broken cycle: name %q", st.Name)
	}
}
