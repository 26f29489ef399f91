package epoch

import (
	"bytes"
	"testing"
)

// TestRefuseHeld (review 23, TestReview23RefusedHeldHealFirst): an id a received key event
// names before this installation refuses the id's own block is held on the namer's word;
// RefuseHeld releases the hold, and the schedule is then the one Refuse before the naming
// event gives — the same bytes, whichever came first: no hold, one unseen id, no record of
// the naming event as provisional, a state that decodes. The namer's budget is whole again.
func TestRefuseHeld(t *testing.T) {
	c, m, h := testID("creation"), testID("refused add"), testID("heal")
	a := testAuthor("healer")
	base := func() *Schedule {
		s := NewSchedule(testID("group"))
		if err := s.Apply(Event{ID: c}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	heal := Event{ID: h, Prev: mustFrontier(t, c, m)}

	first := base() // block first: refused, then the heal (refuseNamed)
	if err := first.Refuse(m); err != nil {
		t.Fatal(err)
	}
	if err := first.ApplyKnown(heal, a); err != nil {
		t.Fatal(err)
	}

	later := base() // heal first: m held on a's word, the heal recorded as provisional
	if err := later.ApplyKnown(heal, a); err != nil {
		t.Fatal(err)
	}
	if later.Held(a) != 1 || len(later.Recorded()) != 1 {
		t.Fatalf("heal first: %d held on the healer's word, %d records; want 1, 1", later.Held(a), len(later.Recorded()))
	}
	if !later.RefuseHeld(m) {
		t.Fatal("RefuseHeld of an id held on the healer's word: no change")
	}
	if later.Held(a) != 0 || later.HeldAll() != 0 || later.Unseen() != 1 || len(later.Recorded()) != 0 ||
		!later.Superseded(m) || later.Applied(m) || !later.Frontier().Equal(Frontier{h}) {
		t.Fatalf("after RefuseHeld: held %d (all %d), unseen %d, records %d, frontier %v",
			later.Held(a), later.HeldAll(), later.Unseen(), len(later.Recorded()), later.Frontier())
	}
	enc := marshalState(t, later)
	if !bytes.Equal(enc, marshalState(t, first)) {
		t.Fatal("heal first then RefuseHeld differs from Refuse then the heal")
	}
	var back Schedule
	if err := back.UnmarshalBinary(enc); err != nil || back.Unseen() != 1 || back.HeldAll() != 0 {
		t.Fatalf("round trip: %v (unseen %d, held %d)", err, back.Unseen(), back.HeldAll())
	}
	if later.RefuseHeld(m) {
		t.Error("second RefuseHeld changed the schedule")
	}
	fillUnseen(t, later, a) // the healer's whole budget is its own again
}

// TestRefuseHeldOnlyHeldUnseen: RefuseHeld changes nothing for an id the schedule does not
// know (Refuse records one), holds on no one's word (Refuse's), an applied id (held from a
// Welcome or not); it releases a hold a member's Welcome entry put on
// its prev (the sender's word) as one a key block put.
func TestRefuseHeldOnlyHeldUnseen(t *testing.T) {
	c, w := testID("creation"), testAuthor("welcomer")
	s := NewSchedule(testID("group"))
	if err := s.Apply(Event{ID: c}); err != nil {
		t.Fatal(err)
	}
	refused := testID("refused")
	if err := s.Refuse(refused); err != nil {
		t.Fatal(err)
	}
	entry, named := testID("entry"), testID("named by the entry")
	if err := s.ApplyWelcomed(Event{ID: entry, Prev: mustFrontier(t, c, named, refused)}, w); err != nil {
		t.Fatal(err)
	}
	if s.Held(w) != 2 {
		t.Fatalf("Welcome entry: %d held on its sender's word, want 2 (its id and its unseen prev)", s.Held(w))
	}
	before := marshalState(t, s)
	for name, id := range map[string]ID{"unknown": testID("never met"), "refused": refused, "creation": c, "welcomed entry": entry} {
		if s.RefuseHeld(id) || !bytes.Equal(before, marshalState(t, s)) {
			t.Errorf("RefuseHeld of the %s id changed the schedule", name)
		}
	}
	if s.Known() != 4 || !s.RefuseHeld(named) || s.Held(w) != 1 || s.Unseen() != 2 {
		t.Fatalf("RefuseHeld of the entry's unseen prev: held %d on its sender's word (want 1: the entry), unseen %d (want 2)", s.Held(w), s.Unseen())
	}
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil {
		t.Fatal(err)
	}
}

// TestRefuseHeldRecords: the records of provisional events (provisional.go) follow the
// holds RefuseHeld releases: an event provisional for two held ids keeps its record (and
// its descendant's) while one is held, and loses both once neither is; the state decodes
// after each release (a record left without a hold behind it is malformed: the first cut
// of RefuseHeld wrote such states, and the engine then could not load the group).
func TestRefuseHeldRecords(t *testing.T) {
	c, m1, m2, h1, h2 := testID("creation"), testID("m1"), testID("m2"), testID("h1"), testID("h2")
	a := testAuthor("a")
	s := NewSchedule(testID("group"))
	if err := s.Apply(Event{ID: c}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: h1, Prev: mustFrontier(t, c, m1, m2)}, a); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: h2, Prev: Frontier{h1}}, a); err != nil {
		t.Fatal(err)
	}
	decodes := func(step string, records int) {
		t.Helper()
		if got := len(s.Recorded()); got != records {
			t.Fatalf("%s: %d records, want %d", step, got, records)
		}
		var back Schedule
		if err := back.UnmarshalBinary(marshalState(t, s)); err != nil {
			t.Fatalf("%s: state does not decode: %v", step, err)
		}
		if !bytes.Equal(marshalState(t, &back), marshalState(t, s)) {
			t.Fatalf("%s: round trip changed the state", step)
		}
	}
	decodes("both held", 2)
	if !s.RefuseHeld(m1) || s.Held(a) != 1 {
		t.Fatalf("release m1: held %d, want 1", s.Held(a))
	}
	decodes("m2 held", 2)
	if !s.RefuseHeld(m2) || s.Held(a) != 0 || s.Unseen() != 2 {
		t.Fatalf("release m2: held %d, unseen %d; want 0, 2", s.Held(a), s.Unseen())
	}
	decodes("none held", 0)
}
