package epoch

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScheduleSortedKnown: the known ids a schedule keeps sorted as events are applied
// (shared with its clones, rebuilt by decoding) are always its known ids in order, and the
// encoding is the one a full sort gives; a clone applying events leaves its source's list
// alone, and a refused Apply changes nothing.
func TestScheduleSortedKnown(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rid := func() (id ID) {
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		return id
	}
	check := func(s *Schedule, what string) {
		t.Helper()
		want := slices.SortedFunc(maps.Keys(s.known), func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
		if !slices.Equal(s.sortedIDs(), want) || s.sorted == nil {
			t.Fatalf("%s: sorted known ids differ from a full sort (%d kept, %d known)", what, len(s.sorted), len(want))
		}
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		d := NewSchedule(s.group)
		if err := d.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.sorted, want) {
			t.Fatalf("%s: decoded sorted ids differ", what)
		}
		if again, _ := d.MarshalBinary(); !bytes.Equal(again, enc) {
			t.Fatalf("%s: decoded schedule encodes differently", what)
		}
	}
	s := NewSchedule(rid())
	check(s, "empty")
	for i := range 300 {
		ev := Event{ID: rid()}
		// prev: some of the frontier, some ids never seen (named before applied).
		for _, f := range s.Frontier() {
			if r.IntN(2) == 0 {
				ev.Prev = append(ev.Prev, f)
			}
		}
		if r.IntN(4) == 0 {
			ev.Prev = append(ev.Prev, rid())
		}
		slices.SortFunc(ev.Prev, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
		if i%7 == 0 {
			c := s.Clone()
			before := slices.Clone(s.sorted)
			if err := c.Apply(Event{ID: rid(), Prev: c.Frontier()}); err != nil {
				t.Fatal(err)
			}
			check(c, "clone")
			if !slices.Equal(s.sorted, before) {
				t.Fatal("a clone's Apply changed its source's sorted ids")
			}
		}
		if i%11 == 0 {
			before := slices.Clone(s.sorted)
			if err := s.Apply(Event{ID: rid(), Prev: Frontier{ev.ID, ev.ID}}); err == nil {
				t.Fatal("a malformed prev applied")
			}
			if !slices.Equal(s.sorted, before) {
				t.Fatal("a refused Apply changed the sorted ids")
			}
		}
		if err := s.Apply(ev); err != nil {
			continue // frontier full: unchanged
		}
		check(s, "applied")
	}
}
