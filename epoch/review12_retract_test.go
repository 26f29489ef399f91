package epoch

import (
	"slices"
	"testing"
)

// TestReview12RetractTwoAuthorsSameHeal (review 12): two rekeys of different departed
// authors, RX (x) and RY (y), both name the unseen heal H; H was first named by RX (held
// on x's word). Both are retracted when H comes (protocol: retractDeparted walks the
// frontier in id order). Retract(RX) keeps H (RY names it); Retract(RY) keeps H too (held
// on x's word, not y's), so H stays known as superseded and, applied, supersedes its prev
// and never enters the frontier: the frontier is left empty. Asserted: after both
// retractions H applied enters the frontier ({H}), as at a schedule that never met RX or
// RY. Fails on main: frontier empty after H.
func TestReview12RetractTwoAuthorsSameHeal(t *testing.T) {
	s := NewSchedule(testID("group"))
	f0, heal, rx, ry := testID("f0"), testID("heal"), testID("rx"), testID("ry")
	if err := s.Apply(Event{ID: f0}); err != nil {
		t.Fatal(err)
	}
	x, y, des := testAuthor("x"), testAuthor("y"), testAuthor("des")
	var ox, oy RekeyOrigin
	ox.Author[0], ox.Headed = 1, true
	oy.Author[0], oy.Headed = 2, true
	if err := s.ApplyKnown(Event{ID: rx, Prev: Frontier{heal}, Rekey: &ox}, x); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: ry, Prev: Frontier{heal}, Rekey: &oy}, y); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Frontier(), mustFrontier(t, f0, rx, ry)) {
		t.Fatalf("precondition: frontier of %d events", len(s.Frontier()))
	}
	if _, err := s.Retract(rx, x, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retract(ry, y, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: heal, Prev: Frontier{f0}}, des); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Frontier(), Frontier{heal}) {
		t.Errorf("after both retractions and H: frontier of %d events (H in it: %v), want {H}; H superseded %v",
			len(s.Frontier()), s.Frontier().Contains(heal), s.Superseded(heal))
	}
}
