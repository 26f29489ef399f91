package membership_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
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
	return m.Event{Type: typ, Clock: clock, Members: m.MembersOf(pubs(members...)...)}
}

// checkOrders derives d's events in many delivery orders (and through Update, one message
// per event, as a receiver applies them) and checks every result equals want.
func checkOrders(t *testing.T, d *dag, members, admins []string) m.State {
	t.Helper()
	want := d.derive()
	if !slices.Equal(want.Members.Strings(), pubs(members...)) || !slices.Equal(want.Admins, pubs(admins...)) {
		t.Fatalf("members %v admins %v, want %v %v", names(want.Members.Strings()), names(want.Admins), members, admins)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		evs := slices.Clone(d.all)
		rng.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
		if got := d.derive(evs...); !sameState(got, want) {
			t.Fatalf("order %d: members %v, want %v", i, names(got.Members.Strings()), members)
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
			t.Fatalf("order %d through Update: members %v admins %v, want %v %v", i, names(next.Members.Strings()), names(next.Admins), members, admins)
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

func TestCausalConcurrentAdds(t *testing.T) {
	// add ∥ add by different admins (different targets, and the same target).
	d := newDAG(t, "add-add")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("alice-adds", "alice", ev(m.MembersAdded, 400, "carol", "eve"), "promote")
	d.add("bob-adds", "bob", ev(m.MembersAdded, 401, "dave", "eve"), "promote")
	st := checkOrders(t, d, []string{"alice", "bob", "carol", "eve", "dave"}, []string{"alice", "bob"})
	if st.Members.Len() != 5 || len(st.Overridden) != 0 || len(st.Heads) != 2 {
		t.Fatalf("members %v, %d overridden, %d heads", names(st.Members.Strings()), len(st.Overridden), len(st.Heads))
	}
	// remove ∥ add: alice removes carol while bob adds dave; then a merge event names both.
	d = newDAG(t, "remove-add")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("kick", "alice", ev(m.MemberRemoved, 400, "carol"), "promote")
	d.add("bob-adds", "bob", ev(m.MembersAdded, 350, "dave"), "promote")
	d.add("merge", "alice", m.Event{Type: m.NameChanged, Name: "merged", Clock: 500}, "kick", "bob-adds")
	st = checkOrders(t, d, []string{"alice", "bob", "dave"}, []string{"alice", "bob"})
	if len(st.Heads) != 1 || st.Name != "merged" {
		t.Fatalf("heads %d name %q", len(st.Heads), st.Name)
	}
	// remove ∥ add of the member being removed by another admin: carol, removed by alice,
	// promoted concurrently by bob, stays (C2) and so do her concurrent events.
	d = newDAG(t, "remove-promote")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("kick", "alice", ev(m.MemberRemoved, 400, "carol"), "promote")
	d.add("bob-promotes", "bob", ev(m.AdminsAdded, 400, "carol"), "promote")
	d.add("carol-renames", "carol", m.Event{Type: m.NameChanged, Name: "carol's", Clock: 450}, "bob-promotes")
	st = checkOrders(t, d, []string{"alice", "bob", "carol"}, []string{"alice", "bob", "carol"})
	if st.Name != "carol's" || len(st.Overridden) != 1 {
		t.Fatalf("name %q, %d overridden", st.Name, len(st.Overridden))
	}
}

func TestCausalPendingWaitsForParents(t *testing.T) {
	d := newDAG(t, "pending")
	add := d.add("add", "alice", ev(m.MembersAdded, 200, "bob"), "genesis")
	leave := d.add("leave", "bob", ev(m.MemberRemoved, 300, "bob"), "add")
	st := d.derive(d.evs["genesis"], leave)
	if len(st.Pending) != 1 || len(st.Events) != 1 {
		t.Fatalf("%d pending, %d applied", len(st.Pending), len(st.Events))
	}
	next, _, err := m.Update(&st, encodeMsg(t, d.chat, add), actors["alice"].pub, farFuture, m.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Pending) != 0 || len(next.Events) != 3 || next.IsMember(actors["bob"].pub) {
		t.Fatalf("%d pending, %d applied, members %v", len(next.Pending), len(next.Events), names(next.Members.Strings()))
	}
}

func TestCausalMalformedParents(t *testing.T) {
	d := newDAG(t, "malformed")
	g := d.evs["genesis"]
	// A parents field of 31 bytes, and a parent named twice: the event is discarded.
	for _, payload := range [][]byte{
		append(encodeEvent(t, ev(m.MembersAdded, 200, "bob")), 0xaa, 0x06, 31),
	} {
		payload = append(payload, make([]byte, 31)...)
		e := signPayload(t, "alice", d.chat, payload)
		st := d.derive(g, e)
		if len(st.Events) != 1 || len(st.Pending)+len(st.Overridden) != 0 {
			t.Fatalf("malformed parents kept: %d %d %d", len(st.Events), len(st.Pending), len(st.Overridden))
		}
	}
	gid := g.ID()
	if _, err := m.SignEvent(actors["alice"].key, d.chat, m.Event{Type: m.NameChanged, Name: "x", Clock: 1, Parents: []m.EventID{gid, gid}}); err == nil {
		t.Fatal("signed an event naming a parent twice")
	}
}

func encodeEvent(t testing.TB, e m.Event) []byte {
	t.Helper()
	b, err := proto.Marshal(&pb.MembershipUpdateEvent{Clock: e.Clock, Members: e.Members.Strings(), Name: e.Name,
		Type: pb.MembershipUpdateEvent_EventType(e.Type)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signPayload signs an arbitrary payload as author would and parses it back.
func signPayload(t testing.TB, author, chat string, payload []byte) m.Event {
	t.Helper()
	sig, err := crypto.Sign(crypto.Keccak256([]byte(chat), payload), actors[author].key)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := m.ParseMessage(encodeRaw(t, chat, append(sig, payload...)))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Events[0]
}

// TestCausalConcurrentTwinsDiscarded: a member repeats its leave 500 times, each naming the
// same parents with its own clock (all valid in their causal past, all concurrent twins):
// one is kept, the others are held (rule 1: pending, not applied, not stored as kept; the
// protocol bounds them per author, MaxPendingEventsPerAuthor, like any pending event), so
// the applied log does not grow with what a member sends. Alone, the first in T is kept;
// once alice's rename names leave7, leave7 is needed and kept, the rename with it, and
// every other leave held (before fix 44 the rename was discarded with leave7: an honest
// event erased by its parent's author choosing which twin comes first).
func TestCausalConcurrentTwinsDiscarded(t *testing.T) {
	d := newDAG(t, "twins")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	for i := 0; i < 500; i++ {
		d.add(fmt.Sprint("leave", i), "bob", ev(m.MemberRemoved, uint64(300+i), "bob"), "add")
	}
	alone := d.derive()
	if n := len(alone.Events) + len(alone.Overridden); n != 3 || alone.Events[2].ID() != d.evs["leave0"].ID() || len(alone.Pending) != 499 {
		t.Fatalf("without the rename: %d events kept, want 3 (leave0 the kept leave); %d held, want 499", n, len(alone.Pending))
	}
	d.add("rename", "alice", m.Event{Type: m.NameChanged, Name: "x", Clock: 400}, "leave7")
	st := d.derive()
	if !slices.Equal(st.Members.Strings(), pubs("alice", "carol")) {
		t.Fatalf("members %v", names(st.Members.Strings()))
	}
	if n := len(st.Events) + len(st.Overridden); n != 4 || len(st.Pending) != 499 {
		t.Fatalf("%d events kept, want 4; %d held, want 499", n, len(st.Pending))
	}
	if !slices.ContainsFunc(st.Events, func(e m.Event) bool { return e.ID() == d.evs["leave7"].ID() }) {
		t.Fatal("leave7, named by alice's rename, not kept")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5; i++ {
		evs := slices.Clone(d.all)
		rng.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
		if got := d.derive(evs...); !sameState(got, st) {
			t.Fatal("order changes the state")
		}
	}
	if st.Name != "x" {
		t.Fatalf("name %q: the rename naming leave7 is not applied", st.Name)
	}
}
