package epoch

import (
	"slices"
	"testing"
)

// TestSeenPrevSupersedes (review 5, spec › Frontier, "A Welcome entry's prev"): a member's
// Welcome entry applied a real key event with a prev set that leaves out what the event's
// signed key block names (here nothing instead of the creation): the event was applied with
// the short prev, and the key block, a duplicate, only released the hold, so the creation
// stayed in the frontier for good. SeenPrev supersedes what the signed prev names: the
// frontier is what the event's own prev gives, whatever came first; the ids it names
// that the schedule does not know are held on the block's author's word (its bounds;
// past them ErrUnknownPrev, the schedule unchanged); an event applied from its key block
// (not held) is not changed by a later block naming another prev.
func TestSeenPrevSupersedes(t *testing.T) {
	s := NewSchedule(testID("group"))
	creation := testID("creation")
	if err := s.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	x, a := testAuthor("x"), testAuthor("a")
	removal := testID("removal")
	if err := s.ApplyWelcomed(Event{ID: removal}, x); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Frontier(), mustFrontier(t, creation, removal)) {
		t.Fatalf("frontier after the Welcome entry: %d events", len(s.Frontier()))
	}
	seed := Seed(testID("seed"))
	if err := s.SetSeed(removal, &seed); err != nil {
		t.Fatal(err)
	}
	unknown := testID("an event not seen yet")
	changed, err := s.SeenPrev(Event{ID: removal, Prev: mustFrontier(t, creation, unknown)}, a)
	if err != nil || !changed {
		t.Fatalf("SeenPrev: %v, changed %v", err, changed)
	}
	if !slices.Equal(s.Frontier(), Frontier{removal}) || !s.HasSeed(removal) || s.Held(x) != 0 || s.Held(a) != 1 || s.Unseen() != 1 {
		t.Fatalf("frontier %d events (seed %v), held x %d a %d, unseen %d: want the removal alone, its seed kept, the unknown id held by a",
			len(s.Frontier()), s.HasSeed(removal), s.Held(x), s.Held(a), s.Unseen())
	}
	if changed, err := s.SeenPrev(Event{ID: removal, Prev: mustFrontier(t, creation, testID("other"))}, a); err != nil || changed {
		t.Fatalf("a second block of a seen event changed the schedule: %v, %v", err, changed)
	}
	// The unknown id arrives later: it stays out of the frontier.
	if err := s.ApplyKnown(Event{ID: unknown, Prev: Frontier{creation}}, a); err != nil || !slices.Equal(s.Frontier(), Frontier{removal}) {
		t.Fatalf("the named event arriving: %v, frontier %d events", err, len(s.Frontier()))
	}
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil {
		t.Fatalf("round trip: %v", err)
	}

	// Past the block author's budget: ErrUnknownPrev, unchanged; the honest prev is released alone.
	s2 := NewSchedule(testID("group"))
	if err := s2.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	fillUnseen(t, s2, a)
	before := s2.Frontier() // the last filler
	if err := s2.ApplyWelcomed(Event{ID: removal}, x); err != nil {
		t.Fatal(err)
	}
	unchanged(t, s2, ErrUnknownPrev, func() error {
		_, err := s2.SeenPrev(Event{ID: removal, Prev: mustFrontier(t, append(slices.Clone(before), unknown)...)}, a)
		return err
	})
	if changed, err := s2.SeenPrev(Event{ID: removal, Prev: before}, a); err != nil || !changed || !slices.Equal(s2.Frontier(), Frontier{removal}) || s2.Held(x) != 0 {
		t.Fatalf("the signed prev naming known ids: %v, changed %v, frontier %d", err, changed, len(s2.Frontier()))
	}

	// Not held (applied from its own key block): a later block naming more changes nothing.
	s3 := NewSchedule(testID("group"))
	if err := s3.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	if err := s3.ApplyKnown(Event{ID: removal}, a); err != nil {
		t.Fatal(err)
	}
	if changed, err := s3.SeenPrev(Event{ID: removal, Prev: Frontier{creation}}, a); err != nil || changed || !s3.Frontier().Contains(creation) {
		t.Fatalf("an event applied from its block, a second block: %v, changed %v", err, changed)
	}
}

// TestSeenPrevRecordsSignedPrev (review 6): a member's Welcome entry applied a real key
// event with its sender's prev set (one the recipient could not tell from the event's own:
// a rekey before the event it has not seen, left out) and the event's key block, signed
// by its author, came later: SeenPrev superseded what the block's prev names but the
// schedule kept recording the entry's prev for good (Prev, what the recipient's own joins
// carry and what a Welcome naming the event is checked against), so the recipient refused
// every honest Welcome naming the event and its own Welcomes were refused. After SeenPrev
// the recorded prev is the block's, and survives a round trip.
func TestSeenPrevRecordsSignedPrev(t *testing.T) {
	s := NewSchedule(testID("group"))
	creation := testID("creation")
	if err := s.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	x, a := testAuthor("x"), testAuthor("a")
	removal := testID("removal")
	if err := s.ApplyWelcomed(Event{ID: removal, Prev: Frontier{creation}}, x); err != nil {
		t.Fatal(err)
	}
	rekey := testID("a rekey not seen yet")
	if changed, err := s.SeenPrev(Event{ID: removal, Prev: Frontier{rekey}}, a); err != nil || !changed {
		t.Fatalf("SeenPrev: %v, changed %v", err, changed)
	}
	if got := s.Prev(removal); !got.Equal(Frontier{rekey}) {
		t.Errorf("after its key block the removal's recorded prev is %v (the Welcome entry's %v), want the block's", got, Frontier{creation})
	}
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if got := back.Prev(removal); !got.Equal(Frontier{rekey}) {
		t.Errorf("after a round trip the removal's recorded prev is %v, want the block's", got)
	}
}
