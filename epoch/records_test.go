package epoch

import (
	"slices"
	"testing"
)

// TestRecordsOthersNotRecorded (review 14, the records rule): a member's key event over a
// recorded one (RX, x's rekey naming the unseen heal) is applied without a record; while
// it is in the frontier Retract(RX) takes it with RX; once it leaves the frontier, kept
// nowhere, RX's record is dropped (Retract would refuse it), so the records empty in
// ordinary operation; a state written before review 14 holding such a record loses it at
// its next key event. x's own next rekey and ours over a recorded event are recorded.
func TestRecordsOthersNotRecorded(t *testing.T) {
	s, f0, _, rx, x := chainScene(t)
	m, n := testAuthor("member m"), testAuthor("member n")
	prevRX, oRX, _ := s.Record(rx)
	k1 := testID("k1 of m")
	if err := s.ApplyKnown(Event{ID: k1, Prev: mustFrontier(t, f0, rx)}, m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Recorded(), []ID{rx}) {
		t.Fatalf("m's event over RX recorded: %d records", len(s.Recorded()))
	}
	c := s.Clone()
	if gone, err := c.Retract(rx, x, Frontier{f0}); err != nil || !slices.Equal(gone, mustFrontier(t, rx, k1)) {
		t.Fatalf("Retract(RX) with m's event over it in the frontier: %v, %d gone", err, len(gone))
	}
	if err := s.ApplyKnown(Event{ID: testID("k2 of n"), Prev: Frontier{k1}}, n); err != nil {
		t.Fatal(err)
	}
	if len(s.Recorded()) != 0 {
		t.Fatalf("%d records after m's event left the frontier unrecorded, want 0", len(s.Recorded()))
	}
	roundTrip(t, s)
	// A state written before review 14 kept RX's record here (named by nothing kept): it
	// still decodes, and the next key event drops the record.
	s.rec = map[ID]undoRecord{rx: {prev: prevRX, origin: oRX, roots: s.rootsOf(prevRX, x)}}
	old := roundTrip(t, s)
	if len(old.Recorded()) != 1 {
		t.Fatalf("a state before review 14: %d records decoded, want 1", len(old.Recorded()))
	}
	if err := old.ApplyKnown(Event{ID: testID("k3"), Prev: old.Frontier()}, m); err != nil || len(old.Recorded()) != 0 {
		t.Fatalf("the next key event on a state before review 14: %v, %d records, want 0", err, len(old.Recorded()))
	}

	// x's next rekey over RX, and ours (Apply), are recorded.
	for _, tc := range []struct {
		name string
		by   Author
	}{{"x's", x}, {"ours", Author{}}} {
		s, f0, _, rx, _ := chainScene(t)
		ev := Event{ID: testID("next of " + tc.name), Prev: mustFrontier(t, f0, rx)}
		var err error
		if tc.by == (Author{}) {
			err = s.Apply(ev)
		} else {
			err = s.ApplyKnown(ev, tc.by)
		}
		if err != nil || !slices.Equal(s.Recorded(), mustFrontier(t, rx, ev.ID)) {
			t.Fatalf("%s event over RX: %v, %d records, want 2", tc.name, err, len(s.Recorded()))
		}
	}
}
