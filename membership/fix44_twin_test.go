package membership_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestFix44TwinOrderIndependent: rule 1's twins (fix 44: keeping ignores twins; a twin that
// no kept event names is held when a twin of it is kept and needed or earlier in T) give a
// state that is a function of the set of events: the twin T is delivered at every position
// of the sequence and in 24 shuffles, the whole set derived at once (Derive) and one event
// at a time (Update, nothing re-sent: a held twin stays at hand as pending). Scenes:
//   - unneeded: bob (admin) adds eve twice (E clock 500, T clock 450, same parent): nothing
//     names either; T, first in T, is kept, E held.
//   - original needed: E is named by bob's step-down sb, itself named by alice's removal of
//     bob R (review 28): E kept, T held, bob out, eve in.
//   - both needed: as above and carol leaves naming T: both kept (T overridden by C1,
//     concurrent with bob's step-down and removal), carol out.
//   - leave twins: bob leaves three times (L1 300, L2 350, L3 320); alice's rename names L1
//     and carol's leave names L2: L1 and L2 kept and both applied (twins never threaten each
//     other, review 29), L3 held; bob and carol out.
//   - admin's add twins: alice adds eve twice (A1 500, A2 450); bob (admin) removes eve naming
//     A1: A2, unneeded, is held (before fix 44 A2 was kept and A1 discarded with bob's
//     removal: eve in).
func TestFix44TwinOrderIndependent(t *testing.T) {
	type check func(t *testing.T, d *dag, st m.State)
	kept := func(st m.State, e m.Event) bool {
		return slices.ContainsFunc(append(slices.Clone(st.Events), st.Overridden...), func(x m.Event) bool { return x.ID() == e.ID() })
	}
	held := func(st m.State, e m.Event) bool {
		return slices.ContainsFunc(st.Pending, func(x m.Event) bool { return x.ID() == e.ID() })
	}
	member := func(st m.State, n string) bool { return st.IsMember(pubs(n)[0]) }
	bobAdmin := func(d *dag) {
		d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
		d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	}
	scenes := []struct {
		name  string
		build func(d *dag) string // returns the twin's label
		want  check
	}{
		{"unneeded", func(d *dag) string {
			bobAdmin(d)
			d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
			d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
			return "T"
		}, func(t *testing.T, d *dag, st m.State) {
			if !kept(st, d.evs["T"]) || !held(st, d.evs["E"]) || !member(st, "eve") {
				t.Fatalf("T kept %v, E held %v, eve member %v", kept(st, d.evs["T"]), held(st, d.evs["E"]), member(st, "eve"))
			}
		}},
		{"original needed", func(d *dag) string {
			bobAdmin(d)
			d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
			d.add("sb", "bob", m.Event{Type: m.AdminRemoved, Clock: 550, Members: m.MembersOf(pubs("bob")...)}, "E")
			d.add("R", "alice", ev(m.MemberRemoved, 600, "bob"), "sb")
			d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
			return "T"
		}, func(t *testing.T, d *dag, st m.State) {
			if !kept(st, d.evs["E"]) || !held(st, d.evs["T"]) || member(st, "bob") || !member(st, "eve") {
				t.Fatalf("E kept %v, T held %v, bob member %v, eve member %v", kept(st, d.evs["E"]), held(st, d.evs["T"]), member(st, "bob"), member(st, "eve"))
			}
		}},
		{"both needed", func(d *dag) string {
			bobAdmin(d)
			d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
			d.add("sb", "bob", m.Event{Type: m.AdminRemoved, Clock: 550, Members: m.MembersOf(pubs("bob")...)}, "E")
			d.add("R", "alice", ev(m.MemberRemoved, 600, "bob"), "sb")
			d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
			d.add("CL", "carol", ev(m.MemberRemoved, 460, "carol"), "T")
			return "T"
		}, func(t *testing.T, d *dag, st m.State) {
			if !kept(st, d.evs["E"]) || !kept(st, d.evs["T"]) || len(st.Pending) != 0 || member(st, "bob") || !member(st, "eve") || member(st, "carol") {
				t.Fatalf("E kept %v, T kept %v, %d pending, bob %v eve %v carol %v", kept(st, d.evs["E"]), kept(st, d.evs["T"]), len(st.Pending),
					member(st, "bob"), member(st, "eve"), member(st, "carol"))
			}
		}},
		{"leave twins", func(d *dag) string {
			d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
			d.add("L1", "bob", ev(m.MemberRemoved, 300, "bob"), "add")
			d.add("L3", "bob", ev(m.MemberRemoved, 320, "bob"), "add")
			d.add("N", "alice", m.Event{Type: m.NameChanged, Clock: 400, Name: "after bob"}, "L1")
			d.add("L2", "bob", ev(m.MemberRemoved, 350, "bob"), "add")
			d.add("CL", "carol", ev(m.MemberRemoved, 450, "carol"), "L2")
			return "L2"
		}, func(t *testing.T, d *dag, st m.State) {
			applied := func(e m.Event) bool {
				return slices.ContainsFunc(st.Events, func(x m.Event) bool { return x.ID() == e.ID() })
			}
			if !applied(d.evs["L1"]) || !applied(d.evs["L2"]) || !held(st, d.evs["L3"]) || member(st, "bob") || member(st, "carol") || st.Name != "after bob" {
				t.Fatalf("L1 applied %v, L2 applied %v, L3 held %v, bob %v carol %v, name %q", applied(d.evs["L1"]), applied(d.evs["L2"]),
					held(st, d.evs["L3"]), member(st, "bob"), member(st, "carol"), st.Name)
			}
		}},
		{"admin's add twins", func(d *dag) string {
			bobAdmin(d)
			d.add("A1", "alice", ev(m.MembersAdded, 500, "eve"), "pb")
			d.add("R", "bob", ev(m.MemberRemoved, 600, "eve"), "A1")
			d.add("A2", "alice", ev(m.MembersAdded, 450, "eve"), "pb")
			return "A2"
		}, func(t *testing.T, d *dag, st m.State) {
			if !kept(st, d.evs["A1"]) || !kept(st, d.evs["R"]) || !held(st, d.evs["A2"]) || member(st, "eve") {
				t.Fatalf("A1 kept %v, R kept %v, A2 held %v, eve member %v", kept(st, d.evs["A1"]), kept(st, d.evs["R"]), held(st, d.evs["A2"]), member(st, "eve"))
			}
		}},
	}
	for _, sc := range scenes {
		t.Run(sc.name, func(t *testing.T) {
			d := newDAG(t, "fix44-"+sc.name)
			tw := d.evs[sc.build(d)]
			want := d.derive()
			sc.want(t, d, want)
			if again := d.derive(want.Log()...); !sameState(again, want) {
				t.Fatalf("the state is not that of its own log:\n%s\nwant %s", summary(again), summary(want))
			}
			rest := d.all[1:]
			iT := slices.IndexFunc(rest, func(x m.Event) bool { return x.ID() == tw.ID() })
			rng := rand.New(rand.NewPCG(44, 29))
			for order := 0; order < len(rest)+24; order++ {
				evs := slices.Clone(rest)
				switch {
				case order < len(rest): // the twin at each position of the sequence
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
					t.Fatalf("order %d (Derive): %s\nwant %s", order, summary(whole), summary(want))
				}
				st := d.derive(d.all[0])
				for _, e := range evs {
					next, _, err := m.Update(&st, encodeMsg(t, d.chat, e), actors["alice"].pub, farFuture, m.ChorusRules())
					if err != nil {
						t.Fatal(err)
					}
					st = next
				}
				if !sameState(st, want) {
					t.Fatalf("order %d (Update one at a time): %s\nwant %s", order, summary(st), summary(want))
				}
			}
		})
	}
}

// TestFix44BasedTakesFullLogWithHeldRoot: a member based on a snapshot whose head is bob's
// add of eve E (the snapshot a newcomer gets) meets the full log in which bob's backdated
// twin T of E is kept and E held (rule 1: unneeded, T first in T). The full log replaces
// the base (extendBased's placesAll counts a held event as placed: its twin with its effect
// is kept), and the state is the full log's; before, the based member stayed on its base and
// T, concurrent with the snapshot, waited for good with everything naming it.
func TestFix44BasedTakesFullLogWithHeldRoot(t *testing.T) {
	d := newDAG(t, "fix44-based")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
	src := d.derive()
	snap, err := m.SnapshotOf(&src, headEvents(&src))
	if err != nil {
		t.Fatal(err)
	}
	d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
	d.add("N", "alice", m.Event{Type: m.NameChanged, Clock: 600, Name: "after T"}, "T")
	want := d.derive()
	if !slices.ContainsFunc(want.Pending, func(x m.Event) bool { return x.ID() == d.evs["E"].ID() }) {
		t.Fatal("setup: E not held in the full log")
	}
	part, _, err := m.Update(&snap, encodeMsg(t, d.chat, d.evs["T"], d.evs["N"]), actors["alice"].pub, farFuture, m.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if part.Base == nil || part.Name == "after T" {
		t.Fatalf("setup: without the log T and N should wait at the based member (name %q)", part.Name)
	}
	full, _, err := m.Update(&part, encodeMsg(t, d.chat, d.all...), actors["alice"].pub, farFuture, m.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if full.Base != nil || !sameState(full, want) {
		t.Fatalf("the full log did not replace the base (based %v):\n%s\nwant %s", full.Base != nil, summary(full), summary(want))
	}
}
