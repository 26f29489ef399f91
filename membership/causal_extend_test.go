package membership_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestCausalExtendMatchesDerive: events delivered one per message in random orders (a
// child before its parent waits as pending; the parent's arrival must apply both), with
// concurrent branches, repeats and a malleated copy of one event (the smaller signature
// is kept, whichever came first): wherever Update takes its shortcut, the state is the
// one derived from the whole log, and the final state is the same in every order.
func TestCausalExtendMatchesDerive(t *testing.T) {
	d := newDAG(t, "extend")
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol", "dave"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 102, "bob"), "add")
	d.add("name1", "alice", m.Event{Type: m.NameChanged, Name: "one", Clock: 103}, "promote")
	d.add("name2", "bob", m.Event{Type: m.NameChanged, Name: "two", Clock: 104}, "name1")
	d.add("rm-carol", "bob", ev(m.MemberRemoved, 105, "carol"), "name2")
	d.add("carol-renames", "carol", m.Event{Type: m.NameChanged, Name: "carol's", Clock: 106}, "name2") // not an admin: dropped
	d.add("dave-leaves", "dave", ev(m.MemberRemoved, 106, "dave"), "name2")                             // concurrent with rm-carol
	d.add("add-eve", "alice", ev(m.MembersAdded, 107, "eve"), "dave-leaves", "rm-carol")
	d.add("color", "bob", m.Event{Type: m.ColorChanged, Color: "#112233", Clock: 108}, "add-eve")
	var hits [2]int
	rng := rand.New(rand.NewPCG(3, 4))
	for order := 0; order < 300; order++ {
		evs := slices.Clone(d.all[1:])
		if order%2 == 0 {
			rng.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
		} else { // mostly in causal order: a few swaps and a repeat
			for range 2 {
				i := rng.IntN(len(evs) - 1)
				evs[i], evs[i+1] = evs[i+1], evs[i]
			}
			evs = slices.Insert(evs, rng.IntN(len(evs)), evs[rng.IntN(len(evs))])
		}
		want := d.derive()
		if order%3 != 2 {
			pm, err := m.ParseMessage(encodeRaw(t, d.chat, malleate(d.all[1+rng.IntN(len(d.all)-1)].Raw())))
			if err != nil {
				t.Fatal(err)
			}
			evs = slices.Insert(evs, rng.IntN(len(evs)+1), pm.Events[0])
			want = d.derive(append(slices.Clone(d.all), pm.Events[0])...)
		}
		st := d.derive(d.all[0])
		for _, e := range evs {
			msg := encodeMsg(t, d.chat, e)
			checkExtend(t, &st, msg, farFuture, &hits)
			next, _, err := m.Update(&st, msg, actors["alice"].pub, farFuture, m.ChorusRules())
			if err != nil {
				t.Fatal(err)
			}
			st = next
		}
		if !sameState(st, want) {
			t.Fatalf("order %d: %s\nwant %s", order, summary(st), summary(want))
		}
	}
	if hits[0] == 0 || hits[1] == 0 {
		t.Fatalf("shortcut taken %v times", hits)
	}
}

// TestDiffWalk: Diff's walk (old order, some dropped, some appended) gives what the
// map-based difference gives, for random sets, reorders included.
func TestDiffWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	walked := 0
	for i := 0; i < 3000; i++ {
		n := rng.IntN(40)
		a := make([]string, n)
		for j := range a {
			a[j] = fmt.Sprint("k", j)
		}
		var b []string
		for _, x := range a {
			if rng.IntN(4) != 0 {
				b = append(b, x)
			}
		}
		for j := range rng.IntN(4) {
			b = append(b, fmt.Sprint("new", j))
		}
		switch rng.IntN(4) {
		case 0: // a dropped item comes back at the end
			if len(b) < len(a) {
				for _, x := range a {
					if !slices.Contains(b, x) {
						b = append(b, x)
						break
					}
				}
			}
		case 1: // a reorder
			if len(b) > 1 {
				k := rng.IntN(len(b) - 1)
				b[k], b[k+1] = b[k+1], b[k]
			}
		}
		gotA, gotB, wantA, wantB := m.SetDiffBothWays(a, b)
		if !slices.Equal(gotA, wantA) || !slices.Equal(gotB, wantB) || (gotA == nil) != (wantA == nil) || (gotB == nil) != (wantB == nil) {
			t.Fatalf("%v -> %v: got %v %v, want %v %v", a, b, gotA, gotB, wantA, wantB)
		}
		if len(wantA)+len(wantB) > 0 {
			walked++
		}
	}
	if walked == 0 {
		t.Fatal("no change tested")
	}
}
