package epoch

import (
	"errors"
	"slices"
	"testing"
)

// TestRetractRestoresFrontier (review 11 finding 1, spec "Authority"): a rekey RX applied
// on its author x's word, naming the heal H the schedule never met (held on x's word), is
// retracted once found invalid: the frontier is the one before it ({creation}), H is
// forgotten (H then enters the frontier when applied, instead of being superseded by RX),
// RX stays known as superseded and not applied, its seed and the contributions are
// deleted, and the state round-trips. A retraction whose prev was applied (its prev set
// and seed not kept) and one of an event outside the frontier change nothing.
func TestRetractRestoresFrontier(t *testing.T) {
	s := NewSchedule(testID("group"))
	creation, heal, rx := testID("creation"), testID("heal"), testID("rx")
	if err := s.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	seed := Seed(testID("seed0"))
	if err := s.SetSeed(creation, &seed); err != nil {
		t.Fatal(err)
	}
	x := testAuthor("x")
	var o RekeyOrigin
	o.Author[0], o.Headed = 1, true
	if err := s.ApplyKnown(Event{ID: rx, Prev: Frontier{heal}, Rekey: &o}, x); err != nil {
		t.Fatal(err)
	}
	rxSeed := Seed(testID("rx seed"))
	if err := s.SetSeed(rx, &rxSeed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Frontier(), mustFrontier(t, creation, rx)) || s.Held(x) != 1 {
		t.Fatalf("precondition: frontier %d events, held %d", len(s.Frontier()), s.Held(x))
	}
	if got, ok := s.Origin(rx); !ok || got.Author != o.Author {
		t.Fatalf("Origin(rx): %v", ok)
	}
	if err := s.Retract(heal); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("Retract of an id not in the frontier: %v", err)
	}
	if err := s.Retract(rx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Frontier(), Frontier{creation}) || s.Applied(rx) || !s.Superseded(rx) || s.HasSeed(rx) ||
		s.Held(x) != 0 || s.HeldAll() != 0 || s.Unseen() != 1 || s.Known() != 2 || s.Applied(heal) || s.Superseded(heal) {
		t.Fatalf("after Retract: frontier %d events, rx applied %v superseded %v seed %v, held %d/%d, unseen %d, known %d, heal superseded %v",
			len(s.Frontier()), s.Applied(rx), s.Superseded(rx), s.HasSeed(rx), s.Held(x), s.HeldAll(), s.Unseen(), s.Known(), s.Superseded(heal))
	}
	if _, ok := s.Origin(rx); ok || s.Prev(rx) != nil {
		t.Fatal("the retracted rekey's origin or prev kept")
	}
	e0, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	want := NewSchedule(testID("group"))
	if err := want.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	if err := want.SetSeed(creation, &seed); err != nil {
		t.Fatal(err)
	}
	if w, _ := want.Current(); w.ID != e0.ID || w.Secret != e0.Secret {
		t.Fatal("the epoch after the retraction is not the one without the rekey")
	}
	var back Schedule
	if err := back.UnmarshalBinary(marshalState(t, s)); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if !slices.Equal(marshalState(t, &back), marshalState(t, s)) {
		t.Fatal("round trip not canonical")
	}
	// The heal arrives: it enters the frontier (before: superseded by rx, frontier {rx}).
	if err := s.ApplyKnown(Event{ID: heal, Prev: Frontier{creation}}, testAuthor("a")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Frontier(), Frontier{heal}) {
		t.Fatalf("frontier after the heal: %d events", len(s.Frontier()))
	}

	// A retraction whose prev was applied: refused, unchanged.
	s2 := NewSchedule(testID("group"))
	if err := s2.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	if err := s2.ApplyKnown(Event{ID: rx, Prev: Frontier{creation}, Rekey: &o}, x); err != nil {
		t.Fatal(err)
	}
	before := marshalState(t, s2)
	if err := s2.Retract(rx); !errors.Is(err, ErrMismatch) || !slices.Equal(marshalState(t, s2), before) {
		t.Fatalf("Retract with an applied prev: %v (changed %v)", err, !slices.Equal(marshalState(t, s2), before))
	}
}
