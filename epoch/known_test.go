package epoch

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// testAuthor returns the author named label.
func testAuthor(label string) Author {
	id := testID("author/" + label)
	return Author(id[:AuthorSize])
}

// TestUnknownPrevNotRemembered (issue 13 security, review 3): a key event's prev ids that
// the schedule does not know were remembered as superseded, up to 32 a key event: a
// member's ~2 000 rekeys naming made-up prev ids filled MaxKnownEvents and no key event
// applied any more (ErrTooManyEvents), not even the removal of that member. At most
// MaxUnseenPerAuthor made-up ids of one author may be remembered (received events:
// ApplyKnown), and a later event naming known ids still applies.
func TestUnknownPrevNotRemembered(t *testing.T) {
	s := NewSchedule(testID("group"))
	m := testAuthor("mallory")
	if err := s.Apply(Event{ID: testID("creation")}); err != nil {
		t.Fatal(err)
	}
	applied := 1
	// Each rekey names the frontier and as many made-up ids as fit; once refused, fewer
	// (an attacker fills the set exactly).
	publishes := 0
	for fake := MaxFrontier - 1; fake > 0 && publishes < MaxKnownEvents; {
		prev := s.Frontier()
		for j := 0; j < fake && len(prev) < MaxFrontier; j++ {
			prev = append(prev, testID(fmt.Sprint("made up ", publishes, " ", j)))
		}
		slices.SortFunc(prev, cmpID)
		publishes++
		if err := s.ApplyKnown(Event{ID: testID(fmt.Sprint("rekey ", publishes)), Prev: prev}, m); err == nil {
			applied++
		} else if publishes > MaxKnownEvents/MaxFrontier {
			fake--
		}
	}
	if s.Known() > applied+MaxUnseenPerAuthor || s.Unseen() > MaxUnseenPerAuthor || s.Held(m) != s.Unseen() {
		t.Errorf("%d rekeys naming made-up prev ids: %d known ids (%d unseen, %d held by the author) for %d applied events",
			publishes, s.Known(), s.Unseen(), s.Held(m), applied)
	}
	removal := testID("removal")
	if err := s.ApplyKnown(Event{ID: removal, Prev: s.Frontier()}, testAuthor("admin")); err != nil {
		t.Fatalf("a removal after %d rekeys naming made-up prev ids: %v", publishes, err)
	}
	if !s.Frontier().Equal(Frontier{removal}) {
		t.Errorf("frontier %v after the removal, want only the removal", s.Frontier())
	}
}

// fillUnseen has s apply received rekeys of by naming made-up prev ids until by holds
// MaxUnseenPerAuthor ids.
func fillUnseen(t *testing.T, s *Schedule, by Author) {
	t.Helper()
	for i, held := 0, s.Held(by); held < MaxUnseenPerAuthor; i, held = i+1, s.Held(by) {
		prev := s.Frontier()
		for j := 0; len(prev) < MaxFrontier && held+j < MaxUnseenPerAuthor; j++ {
			prev = append(prev, testID(fmt.Sprint("fill ", by, " ", i, " ", j)))
		}
		slices.SortFunc(prev, cmpID)
		if err := s.ApplyKnown(Event{ID: testID(fmt.Sprint("filler ", by, " ", i)), Prev: prev}, by); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyKnownHeldThenApplied: with MaxUnseenPerAuthor ids held by an author, its event
// naming an unknown id is refused (the schedule unchanged) and applies once that id is
// applied; the frontier is the one of the same set applied in any order; an id recorded by
// Refuse counts as known and never enters the frontier; the counts survive a round trip.
func TestApplyKnownHeldThenApplied(t *testing.T) {
	c, a, b := testID("creation"), testID("a"), testID("b")
	m := testAuthor("m")
	s := NewSchedule(testID("group"))
	if err := s.ApplyKnown(Event{ID: c}, m); err != nil {
		t.Fatal(err)
	}
	// Under the bound an unknown prev is remembered, as Apply does.
	if err := s.ApplyKnown(Event{ID: testID("x"), Prev: Frontier{c}}, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Refuse(testID("refused early")); err != nil || s.Unseen() != 1 || s.Held(Author{}) != 0 {
		t.Fatalf("Refuse: %v, %d unseen", err, s.Unseen())
	}
	fillUnseen(t, s, m)
	top := s.Frontier()
	unchanged(t, s, ErrUnknownPrev, func() error { return s.ApplyKnown(Event{ID: b, Prev: mustFrontier(t, append(top, a)...)}, m) })
	if err := s.ApplyKnown(Event{ID: a, Prev: top}, m); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: b, Prev: mustFrontier(t, append(top, a)...)}, m); err != nil {
		t.Fatalf("held event once its prev is applied: %v", err)
	}
	if !s.Frontier().Equal(Frontier{b}) {
		t.Fatalf("frontier %v, want only b", s.Frontier())
	}
	// An unseen id that arrives late is applied, leaves the unseen count, stays out of the frontier.
	n := s.Unseen()
	if err := s.ApplyKnown(Event{ID: testID("refused early"), Prev: Frontier{c}}, m); err != nil || s.Unseen() != n-1 || !s.Frontier().Equal(Frontier{b}) {
		t.Fatalf("late unseen event: %v, %d unseen (was %d), frontier %v", err, s.Unseen(), n, s.Frontier())
	}
	unchanged(t, s, ErrDuplicate, func() error { return s.ApplyKnown(Event{ID: b, Prev: Frontier{testID("never")}}, m) })
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil || !back.Frontier().Equal(s.Frontier()) || back.Known() != s.Known() ||
		back.Unseen() != s.Unseen() || back.Held(m) != s.Held(m) {
		t.Fatalf("state round trip: %v (unseen %d, want %d; held %d, want %d)", err, back.Unseen(), s.Unseen(), back.Held(m), s.Held(m))
	}
}

// TestUnseenPerAuthor (issue 13 security, spec › Known limits, "Known key event ids are
// never forgotten" (a)): with one group-wide bound, a member that filled it with made-up
// prev ids made every later key event naming an id that never reached this member (a
// publish lost from the store) wait for good. The bound is per author: once mallory has
// spent hers, an honest author's event naming a lost id still applies, hers waits; an id
// she named arriving releases it; the attribution survives a round trip (a restart), and
// the removal of mallory applies.
func TestUnseenPerAuthor(t *testing.T) {
	s := NewSchedule(testID("group"))
	m, h, admin := testAuthor("mallory"), testAuthor("honest"), testAuthor("admin")
	if err := s.Apply(Event{ID: testID("creation")}); err != nil {
		t.Fatal(err)
	}
	fillUnseen(t, s, m)
	if s.Held(m) != MaxUnseenPerAuthor || s.Held(h) != 0 {
		t.Fatalf("held: mallory %d, honest %d", s.Held(m), s.Held(h))
	}
	// Restarted: the attribution is in the state.
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil {
		t.Fatal(err)
	}
	s = &back
	if s.Held(m) != MaxUnseenPerAuthor {
		t.Fatalf("mallory holds %d ids after a round trip, want %d", s.Held(m), MaxUnseenPerAuthor)
	}
	unchanged(t, s, ErrUnknownPrev, func() error {
		return s.ApplyKnown(Event{ID: testID("mallory again"), Prev: mustFrontier(t, append(s.Frontier(), testID("more made up"))...)}, m)
	})
	lost := testID("a lost publish")
	honest := testID("honest rekey")
	if err := s.ApplyKnown(Event{ID: honest, Prev: mustFrontier(t, append(s.Frontier(), lost)...)}, h); err != nil {
		t.Fatalf("an honest author's key event naming a lost id, after mallory spent her budget: %v", err)
	}
	if s.Held(h) != 1 || s.Held(m) != MaxUnseenPerAuthor {
		t.Fatalf("held: honest %d (want 1), mallory %d", s.Held(h), s.Held(m))
	}
	// The lost publish arrives: its attribution is released.
	if err := s.ApplyKnown(Event{ID: lost, Prev: Frontier{testID("creation")}}, h); err != nil || s.Held(h) != 0 {
		t.Fatalf("late lost publish: %v, honest holds %d", err, s.Held(h))
	}
	// One of mallory's made-up ids turns up (whoever authored it): she may name one more.
	if err := s.ApplyKnown(Event{ID: testID(fmt.Sprint("fill ", m, " 0 1"))}, h); err != nil || s.Held(m) != MaxUnseenPerAuthor-1 {
		t.Fatalf("mallory's id applied: %v, she holds %d", err, s.Held(m))
	}
	if err := s.ApplyKnown(Event{ID: testID("mallory again"), Prev: mustFrontier(t, append(s.Frontier(), testID("more made up"))...)}, m); err != nil {
		t.Fatalf("mallory's event within her budget again: %v", err)
	}
	removal := testID("removal of mallory")
	if err := s.ApplyKnown(Event{ID: removal, Prev: s.Frontier()}, admin); err != nil || !s.Frontier().Equal(Frontier{removal}) {
		t.Fatalf("the removal of mallory: %v, frontier %v", err, s.Frontier())
	}
}

// TestUnseenTotalBound: the ids held by every author together stay within MaxUnseenPrev
// (the memory bound): once 32 authors have spent their budgets, a 33rd's event naming an
// unknown id waits (and Refuse is refused); an event naming only known ids applies.
func TestUnseenTotalBound(t *testing.T) {
	s := NewSchedule(testID("group"))
	if err := s.Apply(Event{ID: testID("creation")}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxUnseenPrev / MaxUnseenPerAuthor {
		fillUnseen(t, s, testAuthor(fmt.Sprint("author ", i)))
	}
	if s.Unseen() != MaxUnseenPrev {
		t.Fatalf("%d unseen ids, want %d", s.Unseen(), MaxUnseenPrev)
	}
	late := testAuthor("late")
	unchanged(t, s, ErrUnknownPrev, func() error {
		return s.ApplyKnown(Event{ID: testID("late"), Prev: mustFrontier(t, append(s.Frontier(), testID("unknown"))...)}, late)
	})
	unchanged(t, s, ErrUnknownPrev, func() error { return s.ApplyWelcomed(Event{ID: testID("welcomed")}, late) })
	unchanged(t, s, ErrTooManyEvents, func() error { return s.Refuse(testID("refused")) })
	if err := s.ApplyKnown(Event{ID: testID("late"), Prev: s.Frontier()}, late); err != nil {
		t.Fatalf("an event naming known ids: %v", err)
	}
}

// welcomeJoin returns the 31 made-up entries of Welcome i of sender tag: the first names
// frontier (so that the join fits), the others nothing.
func welcomeJoin(tag string, i int, frontier Frontier) []Event {
	evs := make([]Event, 0, MaxFrontier-1)
	for j := range MaxFrontier - 1 {
		ev := Event{ID: testID(fmt.Sprint(tag, " welcome ", i, " entry ", j))}
		if j == 0 {
			ev.Prev = frontier
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestWelcomedPerSender (issue 13 security, spec › Known limits, "Known key event ids are
// never forgotten" (c)): a member's Welcome to a member applied its up to 31 join entries,
// made up or not: 2 100 pairwise Welcomes filled MaxKnownEvents and then no key event
// applied, the removal of their sender included. The entries are held on the sender's word
// until seen in a key block: past its budget its Welcome waits, another sender's merges, a
// seen entry is released, and the removal applies.
func TestWelcomedPerSender(t *testing.T) {
	s := NewSchedule(testID("group"))
	x, a, admin := testAuthor("x"), testAuthor("a"), testAuthor("admin")
	if err := s.Apply(Event{ID: testID("creation")}); err != nil {
		t.Fatal(err)
	}
	merged, waited := 0, 0
	const welcomes = 2100
	for i := range welcomes {
		// As mergeJoin: the entries in order, the Welcome waiting at the first refusal.
		snap := s.Clone()
		ok := true
		for _, ev := range welcomeJoin("x", i, s.Frontier()) {
			if err := s.ApplyWelcomed(ev, x); err != nil {
				if !errors.Is(err, ErrUnknownPrev) {
					t.Fatalf("welcome %d: %v", i, err)
				}
				ok = false
				break
			}
		}
		if ok {
			merged++
		} else {
			s = snap
			waited++
		}
	}
	t.Logf("%d Welcomes of %d made-up entries: %d merged, %d wait; %d known ids, %d held by x", welcomes, MaxFrontier-1, merged, waited, s.Known(), s.Held(x))
	if s.Held(x) > MaxUnseenPerAuthor || s.Known() > 1+MaxUnseenPerAuthor {
		t.Fatalf("%d known ids, %d held by the sender after %d Welcomes of made-up entries", s.Known(), s.Held(x), welcomes)
	}
	// Another member's Welcome merges; an entry seen in its key block is released.
	entry := Event{ID: testID("a's entry"), Prev: s.Frontier()}
	if err := s.ApplyWelcomed(entry, a); err != nil || s.Held(a) != 1 {
		t.Fatalf("another sender's Welcome: %v, held %d", err, s.Held(a))
	}
	unchanged(t, s, ErrDuplicate, func() error { return s.ApplyKnown(entry, a) })
	if !s.Seen(entry.ID) || s.Held(a) != 0 || s.Seen(entry.ID) {
		t.Fatalf("a seen entry is not released once (held %d)", s.Held(a))
	}
	// An unseen id held by one author, then merged from another's Welcome, moves to it.
	named := testID("named first by a")
	if err := s.ApplyKnown(Event{ID: testID("a's rekey"), Prev: mustFrontier(t, append(s.Frontier(), named)...)}, a); err != nil || s.Held(a) != 1 {
		t.Fatalf("a's rekey: %v, held %d", err, s.Held(a))
	}
	b := testAuthor("b")
	if err := s.ApplyWelcomed(Event{ID: named}, b); err != nil || s.Held(a) != 0 || s.Held(b) != 1 || s.Applied(named) != true {
		t.Fatalf("a's unseen id merged from b's Welcome: %v, held a %d, b %d", err, s.Held(a), s.Held(b))
	}
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil || back.Held(x) != s.Held(x) || back.Held(b) != 1 || !bytes.Equal(marshalState(t, &back), marshalState(t, s)) {
		t.Fatalf("round trip: %v", err)
	}
	removal := testID("removal of x")
	if err := s.ApplyKnown(Event{ID: removal, Prev: s.Frontier()}, admin); err != nil {
		t.Fatalf("the removal of x after its Welcomes: %v", err)
	}
}

// TestHeldModel: held ids kept beside a plain map of id → author (what ApplyKnown,
// ApplyWelcomed and Seen are specified to do), over random events of a few authors: the
// held list is ascending, flagged exactly where the map has an entry, counted per author
// as the map is, and survives a round trip byte for byte.
func TestHeldModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	authors := []Author{testAuthor("p"), testAuthor("q"), testAuthor("r")}
	s := NewSchedule(testID("group"))
	if err := s.Apply(Event{ID: testID("creation")}); err != nil {
		t.Fatal(err)
	}
	ref := map[ID]Author{}
	var pool []ID // ids named before, to arrive later
	for i := range 2000 {
		by := authors[r.IntN(len(authors))]
		ev := Event{ID: testID(fmt.Sprint("event ", i))}
		if len(pool) > 0 && r.IntN(3) == 0 {
			ev.ID = pool[r.IntN(len(pool))]
		}
		for _, f := range s.Frontier() {
			if f != ev.ID && r.IntN(3) > 0 {
				ev.Prev = append(ev.Prev, f)
			}
		}
		for range r.IntN(3) {
			p := testID(fmt.Sprint("named ", i, " ", r.Uint32()))
			ev.Prev = append(ev.Prev, p)
			pool = append(pool, p)
		}
		slices.SortFunc(ev.Prev, cmpID)
		ev.Prev = slices.Compact(ev.Prev)
		knownBefore := map[ID]bool{}
		for _, p := range ev.Prev {
			knownBefore[p] = s.known.has(p)
		}
		welcomed := r.IntN(4) == 0
		var err error
		if welcomed {
			err = s.ApplyWelcomed(ev, by)
		} else {
			err = s.ApplyKnown(ev, by)
		}
		switch {
		case err == nil:
			delete(ref, ev.ID)
			for _, p := range ev.Prev {
				if !knownBefore[p] {
					ref[p] = by
				}
			}
			if welcomed {
				ref[ev.ID] = by
			}
		case errors.Is(err, ErrDuplicate):
			if r.IntN(2) == 0 && s.Seen(ev.ID) != (ref[ev.ID] != Author{} && s.Applied(ev.ID)) {
				t.Fatalf("step %d: Seen's report", i)
			}
			if _, ok := ref[ev.ID]; ok && !s.known.has(ev.ID) {
				t.Fatal("held id not known")
			}
			if s.known.flag(ev.ID)&flagHeld == 0 {
				delete(ref, ev.ID)
			}
		default:
			continue // frontier full, or over a bound: unchanged
		}
		for j, h := range s.known.held {
			if j > 0 && cmpID(s.known.held[j-1].id, h.id) >= 0 {
				t.Fatalf("step %d: held ids not ascending", i)
			}
			if ref[h.id] != h.by || h.applied != s.Applied(h.id) || s.known.flag(h.id)&flagHeld == 0 {
				t.Fatalf("step %d: held id %d differs from the reference", i, j)
			}
		}
		flagged := 0
		for _, fl := range s.known.flags {
			if fl&flagHeld != 0 {
				flagged++
			}
		}
		if len(s.known.held) != len(ref) || flagged != len(ref) {
			t.Fatalf("step %d: %d held, %d flagged, reference %d", i, len(s.known.held), flagged, len(ref))
		}
		if i%50 == 0 {
			enc := marshalState(t, s)
			var back Schedule
			if err := back.UnmarshalBinary(enc); err != nil || !bytes.Equal(marshalState(t, &back), enc) || !slices.Equal(back.known.held, s.known.held) {
				t.Fatalf("step %d: round trip: %v", i, err)
			}
			for _, a := range authors {
				if back.Held(a) != s.Held(a) {
					t.Fatalf("step %d: held counts differ after a round trip", i)
				}
			}
		}
	}
	if len(ref) == 0 || s.Held(authors[0]) == 0 {
		t.Fatalf("the model held nothing (%d)", len(ref))
	}
}

// TestStateBeforeHeldLoads: a state stored by the previous version (known ids with flags 1,
// 2 or 3 only, no author) loads unchanged: its unseen ids are held by nobody (they count
// toward MaxUnseenPrev only), it re-encodes byte for byte, and authors' budgets start
// empty.
func TestStateBeforeHeldLoads(t *testing.T) {
	group, c, x, u := testID("group"), testID("creation"), testID("x"), testID("unseen")
	// Written as the previous version did: 0x45 ‖ 1 ‖ group ‖ u32 k ‖ k × (id ‖ flags) ‖
	// frontier entries ‖ live epochs.
	known := []struct {
		id ID
		fl byte
	}{{c, flagApplied | flagSuperseded}, {x, flagApplied}, {u, flagSuperseded}}
	slices.SortFunc(known, func(a, b struct {
		id ID
		fl byte
	}) int {
		return cmpID(a.id, b.id)
	})
	old := append([]byte{stateMagic, 1}, group[:]...)
	old = append(old, 0, 0, 0, byte(len(known)))
	for _, k := range known {
		old = append(append(old, k.id[:]...), k.fl)
	}
	prev := mustFrontier(t, c, u)
	old = append(append(old, 1), x[:]...) // one frontier entry: x, its prev {c, u}, nothing held
	old = append(append(append(old, byte(len(prev))), prev[0][:]...), prev[1][:]...)
	old = append(old, 0, 0) // kind 0; no live epoch
	var s Schedule
	if err := s.UnmarshalBinary(old); err != nil {
		t.Fatalf("previous version's state: %v", err)
	}
	// Re-encoded as state version 2: the same with an origin byte (none) per frontier entry.
	upgraded := append(slices.Clone(old[:len(old)-1]), 0, 0)
	upgraded[1] = stateVersionPlain
	if !s.Frontier().Equal(Frontier{x}) || s.Unseen() != 1 || s.HeldAll() != 0 || !bytes.Equal(marshalState(t, &s), upgraded) {
		t.Fatalf("previous version's state: frontier %v, %d unseen, %d held, re-encoded as expected %v",
			s.Frontier(), s.Unseen(), s.HeldAll(), bytes.Equal(marshalState(t, &s), upgraded))
	}
	by := testAuthor("a")
	if err := s.ApplyKnown(Event{ID: testID("next"), Prev: mustFrontier(t, x, testID("lost"))}, by); err != nil || s.Held(by) != 1 {
		t.Fatalf("after loading: %v, held %d", err, s.Held(by))
	}
}
