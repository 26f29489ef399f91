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
		if err := s.Apply(Event{ID: testID(fmt.Sprint("rekey ", publishes)), Prev: prev}); err == nil {
			applied++
		} else if publishes > MaxKnownEvents/MaxFrontier {
			fake--
		}
	}
	if s.Known() > applied {
		t.Errorf("%d rekeys naming made-up prev ids: %d known ids for %d applied events", publishes, s.Known(), applied)
	}
	removal := testID("removal")
	if err := s.Apply(Event{ID: removal, Prev: s.Frontier()}); err != nil {
		t.Fatalf("a removal after %d rekeys naming made-up prev ids: %v", publishes, err)
	}
	if !s.Frontier().Equal(Frontier{removal}) {
		t.Errorf("frontier %v after the removal, want only the removal", s.Frontier())
	}
}
