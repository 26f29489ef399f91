package membership_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	m "github.com/chorus-im/chorus/membership"
)

// randomLog returns n signed events for chat (plus alice's genesis first): random authors,
// types, targets and clocks from a small range, so that ties, concurrent removals and admin
// changes, invalid events, exact and malleated duplicates all occur.
func randomLog(t testing.TB, rng *rand.Rand, chat string, n int) []m.Event {
	who := func() string { return actorNames[rng.IntN(5)] }
	author := func() string {
		if rng.IntN(3) == 0 {
			return "alice"
		}
		return who()
	}
	evs := []m.Event{sign(t, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "G", Color: "#fa6565"})}
	for len(evs) < n+1 {
		clock := t0 + uint64(rng.IntN(12))
		var e m.Event
		switch rng.IntN(11) {
		case 0, 1, 2:
			e = m.Event{Type: m.MembersAdded, Members: m.MembersOf(pubs(who(), who())...)}
		case 3, 4:
			target := who()
			e = m.Event{Type: m.MemberRemoved, Members: m.MembersOf(pubs(target)...)}
		case 5, 6:
			e = m.Event{Type: m.AdminsAdded, Members: m.MembersOf(pubs(who())...)}
		case 7:
			e = m.Event{Type: m.AdminRemoved, Members: m.MembersOf(pubs(who())...)}
		case 8:
			e = m.Event{Type: m.NameChanged, Name: fmt.Sprintf("name%d", rng.IntN(4))}
		case 9:
			e = m.Event{Type: m.DescriptionChanged, Description: fmt.Sprintf("desc%d", rng.IntN(4))}
		case 10:
			e = m.Event{Type: m.MemberJoined}
		}
		e.Clock = clock
		a := author()
		if e.Type == m.MemberRemoved && rng.IntN(2) == 0 {
			e.Members = m.MembersOf(pubs(a)...) // leaving
		}
		ev := sign(t, a, chat, e)
		evs = append(evs, ev)
		switch rng.IntN(10) {
		case 0: // exact duplicate
			evs = append(evs, ev)
		case 1: // malleated duplicate
			mal := malleate(ev.Raw())
			dup := entryEvent(mal, m.Event{Clock: ev.Clock, Type: ev.Type, Members: ev.Members, Name: ev.Name, Description: ev.Description})
			evs = append(evs, dup)
		}
	}
	return evs
}

func TestChorusConvergence(t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 1))
	rules := m.ChorusRules()
	sizes := []int{5, 20, 60}
	for iter := 0; iter < 30; iter++ {
		chat := chatIDFor(fmt.Sprintf("convergence/%d", iter), "alice")
		evs := randomLog(t, rng, chat, sizes[iter%len(sizes)])
		input := slices.Clone(evs)
		want, err := m.Derive(chat, evs, rules)
		if err != nil {
			t.Fatal(err)
		}
		if !sameEvents(input, evs) {
			t.Fatal("Derive modified its input")
		}
		// Same set, any order (and any multiplicity).
		for p := 0; p < 10; p++ {
			perm := slices.Clone(evs)
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if p%2 == 1 {
				perm = append(perm, perm[rng.IntN(len(perm))])
			}
			got, err := m.Derive(chat, perm, rules)
			if err != nil {
				t.Fatal(err)
			}
			if summary(got) != summary(want) {
				t.Fatalf("iteration %d permutation %d: state differs\n got %s\nwant %s", iter, p, summary(got), summary(want))
			}
		}
		// Delivery as messages in random pieces and orders converges to the same state.
		for r := 0; r < 4; r++ {
			pieces := make([][]m.Event, 1+rng.IntN(5))
			for _, e := range evs[1:] {
				k := rng.IntN(len(pieces))
				pieces[k] = append(pieces[k], e)
			}
			rng.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
			var stored *m.State
			for _, piece := range pieces {
				msg := &m.Message{ChatID: chat, Events: append([]m.Event{evs[0]}, piece...)}
				b, err := msg.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				st, _, err := m.Update(stored, b, actors["alice"].pub, time.UnixMilli(int64(now)), rules)
				if err != nil {
					t.Fatal(err)
				}
				stored = &st
			}
			if summary(*stored) != summary(want) {
				t.Fatalf("iteration %d delivery %d: state differs\n got %s\nwant %s", iter, r, summary(*stored), summary(want))
			}
		}
	}
}

func sameEvents(a, b []m.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw(), b[i].Raw()) || a[i].From != b[i].From || a[i].Clock != b[i].Clock {
			return false
		}
	}
	return true
}

// TestChorusConcurrentAdminChanges pins a classic conflict: at one clock an admin removes a
// member while another admin promotes her. Every delivery order yields the same winner.
func TestChorusConcurrentAdminChanges(t *testing.T) {
	chat := chatIDFor("concurrent", "alice")
	evs := []m.Event{
		sign(t, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "G", Color: "#fa6565"}),
		sign(t, "alice", chat, m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: m.MembersOf(pubs("bob", "carol", "dave")...)}),
		sign(t, "alice", chat, m.Event{Type: m.AdminsAdded, Clock: t0 + 2, Members: m.MembersOf(pubs("bob")...)}),
		sign(t, "alice", chat, m.Event{Type: m.MemberRemoved, Clock: t0 + 3, Members: m.MembersOf(pubs("carol")...)}),
		sign(t, "bob", chat, m.Event{Type: m.AdminsAdded, Clock: t0 + 3, Members: m.MembersOf(pubs("carol")...)}),
		sign(t, "bob", chat, m.Event{Type: m.MemberRemoved, Clock: t0 + 3, Members: m.MembersOf(pubs("dave")...)}),
		sign(t, "dave", chat, m.Event{Type: m.MemberRemoved, Clock: t0 + 3, Members: m.MembersOf(pubs("dave")...)}),
		sign(t, "bob", chat, m.Event{Type: m.AdminRemoved, Clock: t0 + 3, Members: m.MembersOf(pubs("bob")...)}),
	}
	var first string
	rng := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 1500; k++ {
		order := rng.Perm(len(evs))
		perm := make([]m.Event, len(evs))
		for i, j := range order {
			perm[i] = evs[j]
		}
		st, err := m.Derive(chat, perm, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = summary(st)
			if st.IsMember(actors["dave"].pub) {
				t.Fatal("dave should be gone (left or removed)")
			}
		} else if summary(st) != first {
			t.Fatalf("order %v differs", order)
		}
	}
}

func TestChorusRulesBasics(t *testing.T) {
	chat := chatIDFor("basics", "alice")
	g := sign(t, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "G", Color: "#fa6565"})
	add := sign(t, "alice", chat, m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: m.MembersOf(pubs("bob")...)})
	// An event for another chat is discarded, not pending.
	other := sign(t, "alice", chatIDFor("other", "alice"), m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: m.MembersOf(pubs("carol")...)})
	// An event whose From was forged is discarded.
	forged := add
	forged.From = actors["bob"].pub
	st, err := m.Derive(chat, []m.Event{g, add, other, forged}, m.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Events) != 2 || len(st.Pending) != 0 || !st.IsMember(actors["bob"].pub) || !st.IsAdmin(actors["alice"].pub) {
		t.Fatalf("unexpected state %s", summary(st))
	}
	// An event without From (e.g. loaded from storage) is verified and filled in.
	bare := add
	bare.From = ""
	st2, err := m.Derive(chat, []m.Event{g, bare}, m.ChorusRules())
	if err != nil || st2.Events[1].From != actors["alice"].pub {
		t.Fatalf("bare event: %v %+v", err, st2.Events)
	}
	if _, err := m.Derive(chat, []m.Event{add}, m.ChorusRules()); err == nil {
		t.Fatal("no genesis accepted")
	}
	if m.ChorusRules().Name() != "chorus" || m.StatusRules().Name() != "status" {
		t.Fatal("rule names")
	}
	// Update: a chat that never contained the receiver is refused; another chat id too.
	b, _ := (&m.Message{ChatID: chat, Events: []m.Event{g, add}}).MarshalBinary()
	if _, _, err := m.Update(nil, b, actors["carol"].pub, time.UnixMilli(int64(now)), m.ChorusRules()); err == nil {
		t.Fatal("non-member created the chat")
	}
	other2 := st
	other2.ChatID = chatIDFor("x", "alice")
	for _, r := range []m.Rules{m.ChorusRules(), m.StatusRules()} {
		if _, _, err := m.Update(&other2, b, actors["bob"].pub, time.UnixMilli(int64(now)), r); err == nil {
			t.Fatalf("%s: message for another chat merged", r.Name())
		}
	}
}

func TestDiff(t *testing.T) {
	old := m.State{Members: m.MembersOf(pubs("alice", "bob", "carol")...), Admins: pubs("alice")}
	new := m.State{Members: m.MembersOf(pubs("alice", "carol", "dave", "eve")...), Admins: pubs("alice", "carol")}
	d := m.Diff(old, new)
	if names(d.MembersAdded) != "[dave eve]" || names(d.MembersRemoved) != "[bob]" ||
		names(d.AdminsAdded) != "[carol]" || len(d.AdminsRemoved) != 0 || d.Empty() {
		t.Fatalf("diff %+v", d)
	}
	if !m.Diff(new, new.Clone()).Empty() {
		t.Fatal("diff of equal states not empty")
	}
}
