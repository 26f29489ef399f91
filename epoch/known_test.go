package epoch

import (
	"fmt"
	"slices"
	"testing"
)

// TestUnknownPrevNotRemembered (issue 13 security, review 3): a key event's prev ids that
// the schedule does not know were remembered as superseded, up to 32 a key event: a
// member's ~2 000 rekeys naming made-up prev ids filled MaxKnownEvents and no key event
// applied any more (ErrTooManyEvents), not even the removal of that member. At most
// MaxUnseenPrev made-up ids may be remembered (received events: ApplyKnown), and a later
// event naming known ids still applies.
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
	if s.Known() > applied+MaxUnseenPrev || s.Unseen() > MaxUnseenPrev {
		t.Errorf("%d rekeys naming made-up prev ids: %d known ids (%d unseen) for %d applied events", publishes, s.Known(), s.Unseen(), applied)
	}
	removal := testID("removal")
	if err := s.ApplyKnown(Event{ID: removal, Prev: s.Frontier()}); err != nil {
		t.Fatalf("a removal after %d rekeys naming made-up prev ids: %v", publishes, err)
	}
	if !s.Frontier().Equal(Frontier{removal}) {
		t.Errorf("frontier %v after the removal, want only the removal", s.Frontier())
	}
}

// fillUnseen has s apply received rekeys naming made-up prev ids until MaxUnseenPrev such
// ids are held.
func fillUnseen(t *testing.T, s *Schedule) {
	t.Helper()
	for i := 0; s.Unseen() < MaxUnseenPrev; i++ {
		prev := s.Frontier()
		for j := 0; len(prev) < MaxFrontier && s.Unseen()+len(prev)-1 < MaxUnseenPrev; j++ {
			prev = append(prev, testID(fmt.Sprint("fill ", i, " ", j)))
		}
		slices.SortFunc(prev, cmpID)
		if err := s.ApplyKnown(Event{ID: testID(fmt.Sprint("filler ", i)), Prev: prev}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyKnownHeldThenApplied: with MaxUnseenPrev unseen ids held, an event naming an
// unknown id is refused (the schedule unchanged) and applies once that id is applied; the
// frontier is the one of the same set applied in any order; an id recorded by Refuse
// counts as known and never enters the frontier; the unseen count survives a round trip.
func TestApplyKnownHeldThenApplied(t *testing.T) {
	c, a, b := testID("creation"), testID("a"), testID("b")
	s := NewSchedule(testID("group"))
	if err := s.ApplyKnown(Event{ID: c}); err != nil {
		t.Fatal(err)
	}
	// Under the bound an unknown prev is remembered, as Apply does.
	if err := s.ApplyKnown(Event{ID: testID("x"), Prev: Frontier{c}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Refuse(testID("refused early")); err != nil || s.Unseen() != 1 {
		t.Fatalf("Refuse: %v, %d unseen", err, s.Unseen())
	}
	fillUnseen(t, s)
	top := s.Frontier()
	unchanged(t, s, ErrUnknownPrev, func() error { return s.ApplyKnown(Event{ID: b, Prev: mustFrontier(t, append(top, a)...)}) })
	unchanged(t, s, ErrTooManyEvents, func() error { return s.Refuse(testID("refused late")) })
	if err := s.ApplyKnown(Event{ID: a, Prev: top}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: b, Prev: mustFrontier(t, append(top, a)...)}); err != nil {
		t.Fatalf("held event once its prev is applied: %v", err)
	}
	if !s.Frontier().Equal(Frontier{b}) {
		t.Fatalf("frontier %v, want only b", s.Frontier())
	}
	// An unseen id that arrives late is applied, leaves the unseen count, stays out of the frontier.
	n := s.Unseen()
	if err := s.ApplyKnown(Event{ID: testID("refused early"), Prev: Frontier{c}}); err != nil || s.Unseen() != n-1 || !s.Frontier().Equal(Frontier{b}) {
		t.Fatalf("late unseen event: %v, %d unseen (was %d), frontier %v", err, s.Unseen(), n, s.Frontier())
	}
	unchanged(t, s, ErrDuplicate, func() error { return s.ApplyKnown(Event{ID: b, Prev: Frontier{testID("never")}}) })
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil || !back.Frontier().Equal(s.Frontier()) || back.Known() != s.Known() || back.Unseen() != s.Unseen() {
		t.Fatalf("state round trip: %v (unseen %d, want %d)", err, back.Unseen(), s.Unseen())
	}
}
