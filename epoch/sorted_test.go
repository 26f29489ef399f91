package epoch

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScheduleSortedKnown: the known ids a schedule keeps sorted with their flags as events
// are applied (shared with its clones, rebuilt by decoding) are always, in order, those of
// a plain map of id → flags kept beside it (the representation they replaced), and the
// encoding is the one that map sorted gives; a clone applying events leaves its source's
// set alone, and a refused Apply changes nothing.
func TestScheduleSortedKnown(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rid := func() (id ID) {
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		return id
	}
	refs := map[*Schedule]map[ID]byte{}
	note := func(s *Schedule, ev Event) { // ev applied to s: its reference map follows
		ref := refs[s]
		ref[ev.ID] |= flagApplied
		for _, p := range ev.Prev {
			ref[p] |= flagSuperseded
		}
	}
	check := func(s *Schedule, what string) {
		t.Helper()
		ref := refs[s]
		want := slices.SortedFunc(maps.Keys(ref), func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
		if !slices.Equal(s.known.ids, want) || len(s.known.flags) != len(want) {
			t.Fatalf("%s: known ids differ from the reference's, sorted (%d kept, %d known)", what, len(s.known.ids), len(want))
		}
		for i, id := range want {
			if s.known.flags[i] != ref[id] || s.known.flag(id) != ref[id] {
				t.Fatalf("%s: flags of known id %d: %#x, want %#x", what, i, s.known.flags[i], ref[id])
			}
		}
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		wantEnc := append([]byte{stateMagic, stateVersionPlain}, s.group[:]...)
		wantEnc = append(wantEnc, byte(len(want)>>24), byte(len(want)>>16), byte(len(want)>>8), byte(len(want)))
		for _, id := range want {
			wantEnc = append(append(wantEnc, id[:]...), ref[id])
		}
		if !bytes.HasPrefix(enc, wantEnc) {
			t.Fatalf("%s: the encoding's known ids differ from the reference's", what)
		}
		d := NewSchedule(s.group)
		if err := d.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.known.ids, want) || !slices.Equal(d.known.flags, s.known.flags) {
			t.Fatalf("%s: decoded known ids differ", what)
		}
		unseen := 0
		for _, fl := range ref {
			if fl == flagSuperseded {
				unseen++
			}
		}
		if s.Unseen() != unseen || d.Unseen() != unseen {
			t.Fatalf("%s: %d unseen ids counted, %d decoded, want %d", what, s.Unseen(), d.Unseen(), unseen)
		}
		if again, _ := d.MarshalBinary(); !bytes.Equal(again, enc) {
			t.Fatalf("%s: decoded schedule encodes differently", what)
		}
	}
	s := NewSchedule(rid())
	refs[s] = map[ID]byte{}
	check(s, "empty")
	for i := range 300 {
		ev := Event{ID: rid()}
		if i%5 == 0 { // now and then an unseen id arrives (named before applied)
			for id, fl := range refs[s] {
				if fl == flagSuperseded {
					ev.ID = id
					break
				}
			}
		}
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
			refs[c] = maps.Clone(refs[s])
			before, beforeFlags := slices.Clone(s.known.ids), slices.Clone(s.known.flags)
			cev := Event{ID: rid(), Prev: c.Frontier()}
			if err := c.Apply(cev); err != nil {
				t.Fatal(err)
			}
			note(c, cev)
			check(c, "clone")
			if !slices.Equal(s.known.ids, before) || !slices.Equal(s.known.flags, beforeFlags) {
				t.Fatal("a clone's Apply changed its source's known ids")
			}
			check(s, "the clone's source")
			delete(refs, c)
		}
		if i%11 == 0 {
			before, beforeFlags := slices.Clone(s.known.ids), slices.Clone(s.known.flags)
			if err := s.Apply(Event{ID: rid(), Prev: Frontier{ev.ID, ev.ID}}); err == nil {
				t.Fatal("a malformed prev applied")
			}
			if !slices.Equal(s.known.ids, before) || !slices.Equal(s.known.flags, beforeFlags) {
				t.Fatal("a refused Apply changed the known ids")
			}
		}
		if err := s.Apply(ev); err != nil {
			continue // frontier full: unchanged
		}
		note(s, ev)
		check(s, "applied")
	}
}
