package membership_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	m "github.com/chorus-im/chorus/membership"
)

// dag builds a causal group event by event: each event names its parents by label.
type dag struct {
	t    testing.TB
	chat string
	evs  map[string]m.Event
	all  []m.Event
}

func newDAG(t testing.TB, label string) *dag {
	d := &dag{t: t, chat: chatIDFor(label, "alice"), evs: map[string]m.Event{}}
	d.add("genesis", "alice", m.Event{Type: m.ChatCreated, Name: "g", Clock: 100, Version: m.RulesCausal})
	return d
}

// add signs ev by author with parents (labels) and records it under label.
func (d *dag) add(label, author string, ev m.Event, parents ...string) m.Event {
	d.t.Helper()
	for _, p := range parents {
		pe, ok := d.evs[p]
		if !ok {
			d.t.Fatalf("unknown parent %s", p)
		}
		ev.Parents = append(ev.Parents, pe.ID())
	}
	s := sign(d.t, author, d.chat, ev)
	d.evs[label] = s
	d.all = append(d.all, s)
	return s
}

func (d *dag) derive(evs ...m.Event) m.State {
	d.t.Helper()
	if evs == nil {
		evs = d.all
	}
	st, err := m.Derive(d.chat, evs, m.ChorusRules())
	if err != nil {
		d.t.Fatal(err)
	}
	return st
}

func ev(typ m.EventType, clock uint64, members ...string) m.Event {
	return m.Event{Type: typ, Clock: clock, Members: pubs(members...)}
}

// checkOrders derives d's events in many delivery orders (and through Update, one message
// per event, as a receiver applies them) and checks every result equals want.
func checkOrders(t *testing.T, d *dag, members, admins []string) m.State {
	t.Helper()
	want := d.derive()
	if !slices.Equal(want.Members, pubs(members...)) || !slices.Equal(want.Admins, pubs(admins...)) {
		t.Fatalf("members %v admins %v, want %v %v", names(want.Members), names(want.Admins), members, admins)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		evs := slices.Clone(d.all)
		rng.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
		if got := d.derive(evs...); !sameState(got, want) {
			t.Fatalf("order %d: members %v, want %v", i, names(got.Members), members)
		}
		var st *m.State
		for _, e := range evs {
			msg := encodeMsg(t, d.chat, e)
			if st == nil && e.Type != m.ChatCreated {
				continue // a receiver joins from the genesis on; later events re-sent below
			}
			next, _, err := m.Update(st, msg, actors["alice"].pub, farFuture, m.ChorusRules())
			if err != nil {
				t.Fatal(err)
			}
			st = &next
		}
		// The events delivered before the genesis arrive again with the next full log.
		next, _, err := m.Update(st, encodeMsg(t, d.chat, evs...), actors["alice"].pub, farFuture, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		if !sameState(next, want) {
			t.Fatalf("order %d through Update: members %v admins %v, want %v %v", i, names(next.Members), names(next.Admins), members, admins)
		}
	}
	return want
}

func TestCausalAdminCannotRemoveAdmin(t *testing.T) {
	for _, clock := range []uint64{101, 150, 250, 1 << 40} {
		d := newDAG(t, "admin-admin")
		d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
		d.add("promote-bob", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
		d.add("promote-carol", "alice", ev(m.AdminsAdded, 400, "carol"), "promote-bob")
		// carol, an admin, removes bob, an admin: with the promotion in its past (invalid) ...
		d.add("rm-seen", "carol", ev(m.MemberRemoved, clock, "bob"), "promote-carol")
		// ... and claiming a past without bob's promotion (concurrent with it: rule C2).
		d.add("rm-backdated", "carol", ev(m.MemberRemoved, clock+1, "bob"), "add")
		st := checkOrders(t, d, []string{"alice", "bob", "carol"}, []string{"alice", "bob", "carol"})
		if len(st.Overridden) != 0 || len(st.Events) != 4 {
			// rm-backdated is invalid in its own past: carol was no admin there.
			t.Fatalf("clock %d: %d applied, %d overridden", clock, len(st.Events), len(st.Overridden))
		}
	}
}

func TestCausalBackdatedRemovalOfPromotedMember(t *testing.T) {
	d := newDAG(t, "promote-vs-remove")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("promote-carol", "alice", ev(m.AdminsAdded, 300, "carol"), "add")
	d.add("promote-bob", "alice", ev(m.AdminsAdded, 400, "bob"), "promote-carol")
	// carol (admin since promote-carol) removes bob, claiming not to know bob's promotion.
	d.add("rm", "carol", ev(m.MemberRemoved, 1, "bob"), "promote-carol")
	st := checkOrders(t, d, []string{"alice", "bob", "carol"}, []string{"alice", "carol", "bob"})
	if len(st.Overridden) != 1 {
		t.Fatalf("%d overridden", len(st.Overridden))
	}
}

func TestCausalEventsAfterOwnRemoval(t *testing.T) {
	d := newDAG(t, "after-removal")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("promote-bob", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("bob-leaves", "bob", ev(m.MemberRemoved, 400, "bob"), "promote-bob")
	// bob keeps adding members with backdated events, after ...
	d.add("bob-adds-after", "bob", ev(m.MembersAdded, 500, "dave"), "bob-leaves")
	// ... and concurrent with his leave (old parents, old clock).
	d.add("bob-adds-backdated", "bob", ev(m.MembersAdded, 301, "eve"), "promote-bob")
	d.add("bob-renames", "bob", m.Event{Type: m.NameChanged, Name: "x", Clock: 302}, "promote-bob")
	st := checkOrders(t, d, []string{"alice", "carol"}, []string{"alice"})
	if st.Name != "g" {
		t.Fatalf("name %q", st.Name)
	}
	// A member removed by an admin: its concurrent events do not apply either.
	d2 := newDAG(t, "concurrent-removal")
	d2.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d2.add("rm-carol", "alice", ev(m.MemberRemoved, 300, "carol"), "add")
	d2.add("carol-leaves", "carol", ev(m.MemberRemoved, 250, "carol"), "add")
	st = checkOrders(t, d2, []string{"alice", "bob"}, []string{"alice"})
	if len(st.Overridden) != 1 || st.Overridden[0].From != actors["carol"].pub {
		t.Fatalf("overridden %v", st.Overridden)
	}
}

func TestCausalMutualRemovals(t *testing.T) {
	d := newDAG(t, "mutual")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	// Two admins promote bob and carol concurrently; each, unaware of the other's
	// promotion, removes the other.
	d.add("promote-bob", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("promote-carol", "alice", ev(m.AdminsAdded, 301, "carol"), "add")
	d.add("bob-rm-carol", "bob", ev(m.MemberRemoved, 400, "carol"), "promote-bob")
	d.add("carol-rm-bob", "carol", ev(m.MemberRemoved, 400, "bob"), "promote-carol")
	// Each target was promoted concurrently with its removal (C2 would keep it), but
	// they removed each other (C3): both are removed.
	st := checkOrders(t, d, []string{"alice", "dave"}, []string{"alice"})
	if len(st.Overridden) != 0 {
		t.Fatalf("%d overridden", len(st.Overridden))
	}

	// remove ∥ remove of the same member by two admins.
	d = newDAG(t, "mutual-2")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 300, "bob", "carol"), "add")
	d.add("bob-rm-dave", "bob", ev(m.MemberRemoved, 400, "dave"), "promote")
	d.add("carol-rm-dave", "carol", ev(m.MemberRemoved, 401, "dave"), "promote")
	checkOrders(t, d, []string{"alice", "bob", "carol"}, []string{"alice", "bob", "carol"})
}

var farFuture = time.UnixMilli(1 << 40)

func encodeMsg(t testing.TB, chat string, evs ...m.Event) []byte {
	t.Helper()
	b, err := (&m.Message{ChatID: chat, Events: evs}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
