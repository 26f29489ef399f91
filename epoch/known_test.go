package epoch

import (
	"fmt"
	"slices"
	"testing"
)

// TestUnknownPrevNotRemembered (issue 13 security, review 3): a key event's prev ids that
// the schedule does not know were remembered as superseded, up to 32 a key event: a
// member's ~2 000 rekeys naming made-up prev ids filled MaxKnownEvents and no key event
// applied any more (ErrTooManyEvents), not even the removal of that member. The made-up
// ids must not be remembered: the known set grows by at most one id per applied event,
// and a later event still applies.
func TestUnknownPrevNotRemembered(t *testing.T) {
	s := NewSchedule(testID("group"))
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
		if err := s.ApplyKnown(Event{ID: testID(fmt.Sprint("rekey ", publishes)), Prev: prev}); err == nil {
			applied++
		} else if publishes > MaxKnownEvents/MaxFrontier {
			fake--
		}
	}
	if s.Known() > applied {
		t.Errorf("%d rekeys naming made-up prev ids: %d known ids for %d applied events", publishes, s.Known(), applied)
	}
	removal := testID("removal")
	if err := s.ApplyKnown(Event{ID: removal, Prev: s.Frontier()}); err != nil {
		t.Fatalf("a removal after %d rekeys naming made-up prev ids: %v", publishes, err)
	}
	if !s.Frontier().Equal(Frontier{removal}) {
		t.Errorf("frontier %v after the removal, want only the removal", s.Frontier())
	}
}

// TestApplyKnownHeldThenApplied: an event held for an unknown prev (the schedule
// unchanged) applies once that prev is applied, and the frontier is the one of the same
// set applied in causal order; an id recorded by Refuse counts as known and never enters
// the frontier, and the state round-trips.
func TestApplyKnownHeldThenApplied(t *testing.T) {
	c, a, b := testID("creation"), testID("a"), testID("b")
	s := NewSchedule(testID("group"))
	if err := s.ApplyKnown(Event{ID: c}); err != nil {
		t.Fatal(err)
	}
	unchanged(t, s, ErrUnknownPrev, func() error { return s.ApplyKnown(Event{ID: b, Prev: Frontier{a}}) })
	if err := s.ApplyKnown(Event{ID: a, Prev: Frontier{c}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: b, Prev: Frontier{a}}); err != nil {
		t.Fatalf("held event once its prev is applied: %v", err)
	}
	want := NewSchedule(testID("group"))
	for _, ev := range []Event{{ID: c}, {ID: a, Prev: Frontier{c}}, {ID: b, Prev: Frontier{a}}} {
		if err := want.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Frontier().Equal(want.Frontier()) || s.Known() != want.Known() {
		t.Fatalf("frontier %v (%d known), want %v (%d)", s.Frontier(), s.Known(), want.Frontier(), want.Known())
	}
	// A refused event (a revoked installation's rekey another member applied first).
	r, next := testID("refused"), testID("next")
	if err := s.Refuse(r); err != nil {
		t.Fatal(err)
	}
	if err := s.Refuse(r); err != nil || s.Known() != want.Known()+1 {
		t.Fatalf("second Refuse: %v, %d known", err, s.Known())
	}
	if !s.Frontier().Equal(Frontier{b}) || s.Applied(r) {
		t.Fatalf("Refuse changed the frontier: %v", s.Frontier())
	}
	unchanged(t, s, ErrDuplicate, func() error { return s.ApplyKnown(Event{ID: b, Prev: Frontier{testID("never")}}) })
	prev := mustFrontier(t, b, r)
	if err := s.ApplyKnown(Event{ID: next, Prev: prev}); err != nil {
		t.Fatalf("an event naming a refused id: %v", err)
	}
	if err := s.ApplyKnown(Event{ID: r, Prev: Frontier{a}}); err != nil || !s.Frontier().Equal(Frontier{next}) {
		t.Fatalf("the refused event applied late: %v, frontier %v", err, s.Frontier())
	}
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil || !back.Frontier().Equal(s.Frontier()) || back.Known() != s.Known() {
		t.Fatalf("state round trip: %v", err)
	}
}
