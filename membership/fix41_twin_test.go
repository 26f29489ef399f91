package membership_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestFix41TwinOrderIndependent: rule 1's twin test with a backdated twin T of bob's add of
// eve (E), delivered before, between and after E and its descendants (bob's step-down sb,
// alice's removal of bob R), in 30 orders, whole (Derive) and one event at a time (Update,
// nothing re-sent: a twin that loses is held as pending, not dropped, so E met after T is
// still there when sb and R arrive). Every order gives the same state. Scene "unnamed": no
// other author names T — E (named through sb by R) is kept, T held (pending), bob removed. Scene "both named": carol, who met T first, leaves
// naming T — both twins are kept (each carries another author's event), T is overridden
// (concurrent with bob's removal, C1), bob removed, eve a member, carol gone.
func TestFix41TwinOrderIndependent(t *testing.T) {
	for _, both := range []bool{false, true} {
		d := newDAG(t, "fix41-twin")
		d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
		d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
		d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
		d.add("sb", "bob", m.Event{Type: m.AdminRemoved, Clock: 550, Members: m.MembersOf(pubs("bob")...)}, "E")
		r := d.add("R", "alice", ev(m.MemberRemoved, 600, "bob"), "sb")
		tw := d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
		var cl m.Event
		if both {
			cl = d.add("CL", "carol", ev(m.MemberRemoved, 460, "carol"), "T")
		}
		want := d.derive()
		has := func(st m.State, e m.Event) bool {
			kept := append(slices.Clone(st.Events), st.Overridden...)
			return slices.ContainsFunc(kept, func(x m.Event) bool { return x.ID() == e.ID() })
		}
		if want.IsMember(pubs("bob")[0]) || !has(want, r) || !want.IsMember(pubs("eve")[0]) {
			t.Fatalf("both named %v: bob member %v, R kept %v, eve member %v", both,
				want.IsMember(pubs("bob")[0]), has(want, r), want.IsMember(pubs("eve")[0]))
		}
		held := slices.ContainsFunc(want.Pending, func(x m.Event) bool { return x.ID() == tw.ID() })
		if has(want, tw) != both || held == both {
			t.Fatalf("both named %v: T kept %v, held (pending) %v", both, has(want, tw), held)
		}
		if both && (want.IsMember(pubs("carol")[0]) || !has(want, cl)) {
			t.Fatalf("carol's leave naming T: carol member %v, leave kept %v", want.IsMember(pubs("carol")[0]), has(want, cl))
		}
		rest := d.all[1:]
		iT := slices.IndexFunc(rest, func(x m.Event) bool { return x.ID() == tw.ID() })
		rng := rand.New(rand.NewPCG(41, 28))
		for order := 0; order < 30; order++ {
			evs := slices.Clone(rest)
			switch {
			case order < len(rest): // T moved to each position of the causal order
				x := evs[iT]
				evs = slices.Insert(slices.Delete(evs, iT, iT+1), order, x)
			case order%2 == 0:
				slices.Reverse(evs)
				rng.Shuffle(len(evs)/2, func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
			default:
				rng.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
			}
			whole := d.derive(append([]m.Event{d.all[0]}, evs...)...)
			if !sameState(whole, want) {
				t.Fatalf("both named %v, order %d (Derive): %s\nwant %s", both, order, summary(whole), summary(want))
			}
			st := d.derive(d.all[0])
			// One at a time, nothing re-sent: a twin that loses while no other author names
			// it is held (pending), so it is at hand when an event naming it arrives.
			for _, e := range evs {
				next, _, err := m.Update(&st, encodeMsg(t, d.chat, e), actors["alice"].pub, farFuture, m.ChorusRules())
				if err != nil {
					t.Fatal(err)
				}
				st = next
			}
			if !sameState(st, want) {
				t.Fatalf("both named %v, order %d (Update): %s\nwant %s", both, order, summary(st), summary(want))
			}
		}
	}
}
