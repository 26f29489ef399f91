package membership_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	m "github.com/chorus-im/chorus/membership"
)

// TestCausalConvergenceProperty: six replicas author events from their own view (parents
// = their heads; one in five with a random older past and a random clock, as a lying or
// backdating author would) and exchange random subsets of their logs (drops, duplicates
// and any order). Once everyone holds everything, every replica has the same state, equal
// to Derive of the union in any order, and the rules' invariants hold.
func TestCausalConvergenceProperty(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	var hits [2]int
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { causalProperty(t, uint64(seed), &hits) })
	}
	// The shortcut of Update (an event naming the heads; known events repeated) must have
	// been taken, and checked against a full derivation, in both of its forms.
	t.Logf("hits %v", hits)
	if hits[0] < seeds || hits[1] < seeds/4 {
		t.Fatalf("Update's shortcut taken %d times for new events, %d for repeats (%d seeds)", hits[0], hits[1], seeds)
	}
}

// checkExtend: where Update's shortcut applies, its state is exactly the one derived from
// the whole log (hits counts new events applied [0] and messages of known events [1]).
func checkExtend(t *testing.T, st *m.State, msg []byte, now time.Time, hits *[2]int) {
	t.Helper()
	short, ok, full, err := m.UpdateBothWays(st, msg, now)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("shortcut applied where a derivation fails: %v", err)
	}
	if !reflect.DeepEqual(short, full) || !sameState(short, full) {
		t.Fatalf("shortcut state differs from the derived one:\n%s\n%s", summary(short), summary(full))
	}
	if len(short.Events) > len(st.Events) {
		hits[0]++
	} else {
		hits[1]++
	}
}

func causalProperty(t *testing.T, seed uint64, hits *[2]int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	d := newDAG(t, fmt.Sprint("prop-", seed))
	now := farFuture
	replicas := map[string]*m.State{}
	for _, n := range actorNames {
		replicas[n] = nil
	}
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol", "dave", "eve", "frank"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 102, "bob", "carol"), "add")
	for _, n := range actorNames {
		st := d.derive()
		replicas[n] = &st
	}
	deliver := func(to string, evs []m.Event) {
		if len(evs) == 0 {
			return
		}
		msg := encodeMsg(t, d.chat, evs...)
		if st := replicas[to]; st != nil {
			checkExtend(t, st, msg, now, hits)
		}
		next, _, err := m.Update(replicas[to], msg, actors[to].pub, now, m.ChorusRules())
		if err != nil {
			return // e.g. a newcomer that is not named yet
		}
		replicas[to] = &next
	}
	for step := 0; step < 60; step++ {
		if rng.IntN(3) == 0 { // sync: a random subset of a random replica's log, shuffled, with duplicates
			from, to := actorNames[rng.IntN(len(actorNames))], actorNames[rng.IntN(len(actorNames))]
			if replicas[from] == nil {
				continue
			}
			var sub []m.Event
			for _, e := range replicas[from].Log() {
				if rng.IntN(10) < 7 {
					sub = append(sub, e)
				}
				if rng.IntN(10) == 0 {
					sub = append(sub, e)
				}
			}
			rng.Shuffle(len(sub), func(i, j int) { sub[i], sub[j] = sub[j], sub[i] })
			deliver(to, sub)
			continue
		}
		author := actorNames[rng.IntN(len(actorNames))]
		st := replicas[author]
		if st == nil {
			continue
		}
		e, ok := randomAction(rng, st, author)
		if !ok {
			continue
		}
		e.Clock = st.LastClock + 1
		e.Parents = st.Heads
		if rng.IntN(5) == 0 { // a random older past and clock
			log := st.Events
			e.Parents = []m.EventID{log[rng.IntN(len(log))].ID()}
			e.Clock = 1 + rng.Uint64N(st.LastClock)
		}
		s := sign(t, author, d.chat, e)
		deliver(author, []m.Event{s})
	}
	var union []m.Event
	for _, n := range actorNames {
		if replicas[n] != nil {
			union = append(union, replicas[n].Log()...)
		}
	}
	want := d.derive(union...)
	checkInvariants(t, d, want)
	for _, n := range actorNames {
		if replicas[n] == nil {
			continue
		}
		u := slices.Clone(union)
		rng.Shuffle(len(u), func(i, j int) { u[i], u[j] = u[j], u[i] })
		deliver(n, u)
		if got := *replicas[n]; !sameState(got, want) {
			t.Fatalf("%s: members %v admins %v, want %v %v", n, names(got.Members.Strings()), names(got.Admins), names(want.Members.Strings()), names(want.Admins))
		}
	}
}

// randomAction picks an event the author may (or, one time in four, may not) sign.
func randomAction(rng *rand.Rand, st *m.State, author string) (m.Event, bool) {
	pub := actors[author].pub
	other := actors[actorNames[rng.IntN(len(actorNames))]].pub
	switch rng.IntN(7) {
	case 0:
		return m.Event{Type: m.MembersAdded, Members: m.MembersOf([]string{other}...)}, !st.IsMember(other) || rng.IntN(4) == 0
	case 1:
		return m.Event{Type: m.MemberRemoved, Members: m.MembersOf([]string{other}...)}, st.IsMember(other) || rng.IntN(4) == 0
	case 2:
		return m.Event{Type: m.MemberRemoved, Members: m.MembersOf([]string{pub}...)}, rng.IntN(6) == 0
	case 3:
		return m.Event{Type: m.AdminsAdded, Members: m.MembersOf([]string{other}...)}, st.IsMember(other)
	case 4:
		return m.Event{Type: m.AdminRemoved, Members: m.MembersOf([]string{pub}...)}, rng.IntN(6) == 0
	case 5:
		return m.Event{Type: m.MemberJoined}, rng.IntN(4) == 0
	}
	return m.Event{Type: m.NameChanged, Name: fmt.Sprint("n", rng.IntN(100))}, true
}

// checkInvariants: admins are members; every applied event is valid against the state of
// its causal past (re-derived from that past alone); the applied events are a grounded set
// for rule 3's threats (checkThreats).
func checkInvariants(t *testing.T, d *dag, st m.State) {
	t.Helper()
	for _, a := range st.Admins {
		if !st.IsMember(a) {
			t.Fatalf("admin %s is not a member", names([]string{a}))
		}
	}
	byID := map[m.EventID]m.Event{}
	for _, e := range append(slices.Clone(st.Events), st.Overridden...) {
		byID[e.ID()] = e
	}
	past := func(e m.Event) []m.Event {
		var out []m.Event
		seen := map[m.EventID]bool{}
		var walk func(ids []m.EventID)
		walk = func(ids []m.EventID) {
			for _, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				p := byID[id]
				out = append(out, p)
				walk(p.Parents)
			}
		}
		walk(e.Parents)
		return out
	}
	checkThreats(t, st, byID)
	for _, e := range st.Events[1:] {
		ps, err := m.Derive(d.chat, past(e), m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		if !ps.IsMember(e.From) {
			t.Fatalf("applied %v by %s, not a member in its past", e.Type, names([]string{e.From}))
		}
		if e.Type != m.MemberRemoved || e.Members.At(0) != e.From {
			if e.Type != m.AdminRemoved && !ps.IsAdmin(e.From) {
				t.Fatalf("applied %v by %s, not an admin in its past", e.Type, names([]string{e.From}))
			}
		}
		if e.Type == m.MemberRemoved && e.Members.At(0) != e.From && ps.IsAdmin(e.Members.At(0)) {
			t.Fatalf("an admin removed an admin")
		}
	}
}

// checkThreats re-implements rule 3's threats (C1-C3) from the spec and checks the applied
// events against them: no applied event threatens another (conflict-free), every threat
// of an applied event is threatened by an applied event (defended), and every overridden
// event has a threat.
func checkThreats(t *testing.T, st m.State, byID map[m.EventID]m.Event) {
	t.Helper()
	anc := map[m.EventID]map[m.EventID]bool{}
	var ancOf func(id m.EventID) map[m.EventID]bool
	ancOf = func(id m.EventID) map[m.EventID]bool {
		if a, ok := anc[id]; ok {
			return a
		}
		a := map[m.EventID]bool{}
		for _, p := range byID[id].Parents {
			a[p] = true
			for q := range ancOf(p) {
				a[q] = true
			}
		}
		anc[id] = a
		return a
	}
	concurrent := func(a, b m.Event) bool {
		return a.ID() != b.ID() && !ancOf(a.ID())[b.ID()] && !ancOf(b.ID())[a.ID()]
	}
	kept := append(slices.Clone(st.Events[1:]), st.Overridden...)
	removes := func(e m.Event) string {
		if e.Type != m.MemberRemoved {
			return ""
		}
		return e.Members.At(0)
	}
	threatens := func(r, e m.Event) bool {
		if !concurrent(r, e) {
			return false
		}
		if removes(r) == e.From && !(removes(e) == r.From && r.From != e.From) { // C1, C3
			return true
		}
		needsAdmin := e.Type != m.AdminRemoved && removes(e) != e.From
		if r.Type == m.AdminRemoved && r.From == e.From && needsAdmin { // C1
			return true
		}
		if tg := removes(e); tg != "" && tg != e.From && r.Type == m.AdminsAdded && slices.Contains(r.Members.Strings(), tg) { // C2
			for _, q := range kept {
				if q.From == tg && removes(q) == e.From && concurrent(q, e) {
					return false // C3
				}
			}
			return true
		}
		return false
	}
	applied := st.Events[1:]
	for _, e := range applied {
		for _, r := range kept {
			if !threatens(r, e) {
				continue
			}
			if slices.ContainsFunc(applied, func(a m.Event) bool { return a.ID() == r.ID() }) {
				t.Fatalf("applied %v by %s threatened by applied %v by %s", e.Type, names([]string{e.From}), r.Type, names([]string{r.From}))
			}
			if !slices.ContainsFunc(applied, func(a m.Event) bool { return threatens(a, r) }) {
				t.Fatalf("applied %v by %s not defended against %v by %s", e.Type, names([]string{e.From}), r.Type, names([]string{r.From}))
			}
		}
	}
	for _, e := range st.Overridden {
		if !slices.ContainsFunc(kept, func(r m.Event) bool { return threatens(r, e) }) {
			t.Fatalf("overridden %v by %s has no threat", e.Type, names([]string{e.From}))
		}
	}
}
