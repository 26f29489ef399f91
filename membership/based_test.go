package membership_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// headEvents returns the events of st whose ids are st's heads.
func headEvents(st *m.State) []m.Event {
	var out []m.Event
	for _, e := range append(slices.Clone(st.Events), st.Overridden...) {
		if slices.Contains(st.Heads, e.ID()) {
			out = append(out, e)
		}
	}
	return out
}

// pastOf returns the ids of the events reachable from ids (included) among evs.
func pastOf(evs []m.Event, ids []m.EventID) map[m.EventID]bool {
	byID := map[m.EventID]m.Event{}
	for _, e := range evs {
		byID[e.ID()] = e
	}
	seen := map[m.EventID]bool{}
	stack := slices.Clone(ids)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		stack = append(stack, byID[id].Parents...)
	}
	return seen
}

// TestBasedProperty: a replica that starts from a snapshot of another's state (its heads'
// events carried) and then receives everything, in any order, ends with the state of the
// whole log — when every later event descends from the snapshot's heads (otherwise the
// events it cannot judge wait as pending, and the full log, genesis included, replaces the
// base: then it equals the whole log's state exactly). The encoding round-trips.
func TestBasedProperty(t *testing.T) {
	seeds := 120
	if testing.Short() {
		seeds = 30
	}
	var exact, stuck int
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			if basedProperty(t, uint64(seed)) {
				exact++
			} else {
				stuck++
			}
		})
	}
	t.Logf("based equal to derived: %d, with events concurrent with the snapshot: %d", exact, stuck)
	if exact < seeds/4 || stuck < seeds/10 {
		t.Fatalf("both cases must be exercised: %d exact, %d with concurrent events", exact, stuck)
	}
}

func basedProperty(t *testing.T, seed uint64) bool {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := newDAG(t, fmt.Sprint("based-", seed))
	now := farFuture
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol", "dave", "eve"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 102, "bob"), "add")
	replicas := map[string]*m.State{}
	for _, n := range actorNames[:5] {
		st := d.derive()
		replicas[n] = &st
	}
	var based *m.State
	var baseHeads []m.EventID
	deliver := func(st *m.State, evs []m.Event) *m.State {
		if len(evs) == 0 {
			return st
		}
		next, _, err := m.Update(st, encodeMsg(t, d.chat, evs...), actors["frank"].pub, now, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		return &next
	}
	concurrent := seed%2 == 1
	for step := 0; step < 40; step++ {
		if step == 12 {
			src := replicas["alice"]
			snap, err := m.SnapshotOf(src, headEvents(src))
			if err != nil {
				t.Fatal(err)
			}
			based, baseHeads = &snap, slices.Clone(src.Heads)
		}
		names := actorNames[:5]
		if rng.IntN(3) == 0 {
			from, to := names[rng.IntN(5)], names[rng.IntN(5)]
			replicas[to] = deliver(replicas[to], replicas[from].Log())
			if based != nil && rng.IntN(2) == 0 {
				var sub []m.Event
				for _, e := range replicas[from].Log() {
					if e.Type != m.ChatCreated && rng.IntN(3) > 0 {
						sub = append(sub, e)
					}
				}
				rng.Shuffle(len(sub), func(i, j int) { sub[i], sub[j] = sub[j], sub[i] })
				based = deliver(based, sub)
			}
			continue
		}
		author := names[rng.IntN(5)]
		st := replicas[author]
		e, ok := randomAction(rng, st, author)
		if !ok {
			continue
		}
		e.Clock = st.LastClock + 1
		e.Parents = st.Heads
		if concurrent && rng.IntN(4) == 0 {
			e.Parents = []m.EventID{st.Events[rng.IntN(len(st.Events))].ID()}
		}
		replicas[author] = deliver(st, []m.Event{sign(t, author, d.chat, e)})
	}
	var union []m.Event
	for _, n := range actorNames[:5] {
		union = append(union, replicas[n].Log()...)
	}
	want := d.derive(union...)
	past := pastOf(union, baseHeads)
	all := true
	for _, e := range append(slices.Clone(want.Events), want.Overridden...) {
		if !past[e.ID()] {
			p := pastOf(union, e.Parents)
			for _, h := range baseHeads {
				all = all && p[h]
			}
		}
	}
	var noGenesis []m.Event
	for _, e := range union {
		if e.Type != m.ChatCreated {
			noGenesis = append(noGenesis, e)
		}
	}
	rng.Shuffle(len(noGenesis), func(i, j int) { noGenesis[i], noGenesis[j] = noGenesis[j], noGenesis[i] })
	got := deliver(based, noGenesis)
	if got.Base == nil {
		t.Fatal("a based state without the genesis is no longer based")
	}
	enc, err := got.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	back, err := m.ParseSnapshot(d.chat, enc)
	if err != nil || !sameState(back, *got) {
		t.Fatalf("snapshot does not round-trip: %v\n%s\n%s", err, dumpState(&back), dumpState(got))
	}
	if all {
		if !got.Members.Equal(want.Members) || !slices.Equal(got.Admins, want.Admins) || got.Name != want.Name ||
			got.LastClock != want.LastClock || !slices.Equal(got.Heads, want.Heads) || len(got.Pending) != len(want.Pending) {
			t.Fatalf("based state differs:\nbased   %v %v %q %d pending %d\nderived %v %v %q %d pending %d", names(got.Members.Strings()), names(got.Admins), got.Name,
				got.LastClock, len(got.Pending), names(want.Members.Strings()), names(want.Admins), want.Name, want.LastClock, len(want.Pending))
		}
	}
	// The full log (with its genesis) replaces the base.
	full := deliver(got, union)
	if full.Base != nil || !sameState(*full, want) {
		t.Fatalf("the full log does not replace the base:\n%s\n%s", summary(*full), summary(want))
	}
	return all
}

// TestSnapshotRefused: a malformed or inconsistent snapshot is refused.
func TestSnapshotRefused(t *testing.T) {
	d := newDAG(t, "snap-refused")
	add := d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol"), "genesis")
	st := d.derive()
	snap, err := m.SnapshotOf(&st, []m.Event{add})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := snap.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ParseSnapshot(d.chat, enc); err != nil {
		t.Fatalf("good snapshot refused: %v", err)
	}
	if _, err := m.SnapshotOf(&st, []m.Event{d.evs["genesis"]}); err == nil {
		t.Fatal("snapshot without its head accepted")
	}
	for n := range len(enc) {
		if _, err := m.ParseSnapshot(d.chat, enc[:n]); err == nil {
			t.Fatalf("truncated snapshot (%d of %d bytes) accepted", n, len(enc))
		}
	}
	bad := bytes.Clone(enc)
	i := bytes.Index(bad, add.Signature)
	bad[i+64] = 9 // no recovery id: the carried event's signature does not recover
	if _, err := m.ParseSnapshot(d.chat, bad); err == nil {
		t.Fatal("snapshot with a bad signature accepted")
	}
	bad = bytes.Clone(enc)
	bad[len(bad)-10] ^= 1 // inside the carried event's payload: another author recovers
	if got, err := m.ParseSnapshot(d.chat, bad); err == nil && got.Events[0].From == add.From {
		t.Fatal("a tampered carried event keeps its author")
	}
	// An admin that is not a member.
	b := *snap.Base
	b.Admins = append(slices.Clone(b.Admins), actors["dave"].pub)
	if _, err := m.FromSnapshot(d.chat, &b, nil); !errors.Is(err, m.ErrSnapshot) {
		t.Fatalf("admin outside the members: %v", err)
	}
	// Several heads: a later event must descend from all of them.
	other := d.add("other", "alice", ev(m.NameChanged, 102), "genesis")
	other2 := d.add("other2", "alice", m.Event{Type: m.NameChanged, Name: "z", Clock: 103}, "other")
	b = *snap.Base
	b.Events = []m.Event{add, other2, other}
	if _, err := m.FromSnapshot(d.chat, &b, nil); err != nil {
		t.Fatalf("two heads refused: %v", err)
	}
	b.Events = []m.Event{add, add}
	if _, err := m.FromSnapshot(d.chat, &b, nil); !errors.Is(err, m.ErrSnapshot) {
		t.Fatalf("a root twice: %v", err)
	}
}

func dumpState(s *m.State) string {
	out := ""
	for _, l := range [][]m.Event{s.Events, s.Overridden, s.Pending} {
		out += "["
		for _, e := range l {
			id := e.ID()
			out += fmt.Sprintf("%v:%s:%x<%d ", e.Type, names([]string{e.From}), id[:2], len(e.Parents))
			for _, p := range e.Parents {
				out += fmt.Sprintf("%x,", p[:2])
			}
			out += " "
		}
		out += "]\n"
	}
	return out
}

// TestSnapshotAdminProof: a snapshot proves each of its admins with the ADMINS_ADDED
// events that made them admins (Base.Proof, from the creator down); one claiming an admin
// it cannot prove — a member writing itself in as an admin to have its newcomer trust it —
// is refused, as is one whose proof was stripped or forged.
func TestSnapshotAdminProof(t *testing.T) {
	d := newDAG(t, "snap-proof")
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 102, "bob"), "add")
	dave := d.add("dave", "bob", ev(m.MembersAdded, 103, "dave"), "promote")
	st := d.derive()
	if !st.IsAdmin(actors["bob"].pub) {
		t.Fatal("setup: bob is not an admin")
	}
	snap, err := m.SnapshotOf(&st, []m.Event{dave})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Base.Proof) != 1 || snap.Base.Proof[0].Type != m.AdminsAdded {
		t.Fatalf("proof of %d events, want bob's promotion", len(snap.Base.Proof))
	}
	enc, err := snap.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.ParseSnapshot(d.chat, enc)
	if err != nil || !got.IsAdmin(actors["bob"].pub) {
		t.Fatalf("proven snapshot refused: %v", err)
	}
	// Based states pass their proof on.
	again, err := m.SnapshotOf(&got, got.Base.Events)
	if err != nil || len(again.Base.Proof) != 1 {
		t.Fatalf("a based state's snapshot lost the proof: %v", err)
	}
	refused := func(name string, edit func(b *m.Base)) {
		t.Helper()
		b := *snap.Base
		b.Admins, b.Proof = slices.Clone(b.Admins), slices.Clone(b.Proof)
		edit(&b)
		if _, err := m.FromSnapshot(d.chat, &b, nil); !errors.Is(err, m.ErrSnapshot) {
			t.Fatalf("%s: accepted (%v)", name, err)
		}
		if _, err := m.FromSnapshot(d.chat, snap.Base, nil); err != nil {
			t.Fatalf("%s: the genuine base is refused now: %v", name, err)
		}
	}
	refused("a member claims to be an admin", func(b *m.Base) { b.Admins = append(b.Admins, actors["carol"].pub) })
	refused("proof stripped", func(b *m.Base) { b.Proof = nil })
	refused("a promotion by a non-admin as proof", func(b *m.Base) {
		b.Admins = append(b.Admins, actors["carol"].pub)
		b.Proof = append(b.Proof, d.add("self", "carol", ev(m.AdminsAdded, 104, "carol"), "dave"))
	})
	refused("an event of another type as proof", func(b *m.Base) { b.Proof = append(b.Proof, dave) })
}
