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
// deleted, and the state round-trips. A prev held on another author's word stays
// superseded; a retraction whose prev was applied (its prev set and seed not kept) and one
// of an event outside the frontier change nothing.
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
	if _, err := s.Retract(heal, x, nil); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("Retract of an id not in the frontier: %v", err)
	}
	if _, err := s.Retract(rx, x, nil); err != nil {
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

	// A prev held on another author's word (named first by another event) stays superseded.
	s3 := NewSchedule(testID("group"))
	if err := s3.Apply(Event{ID: creation}); err != nil {
		t.Fatal(err)
	}
	if err := s3.ApplyKnown(Event{ID: rx, Prev: Frontier{heal}, Rekey: &o}, x); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Retract(rx, testAuthor("other"), nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s3.Frontier(), Frontier{creation}) || !s3.Superseded(heal) || s3.Held(x) != 1 {
		t.Fatalf("a prev held on another's word: frontier %d events, heal superseded %v, held %d", len(s3.Frontier()), s3.Superseded(heal), s3.Held(x))
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
	if _, err := s2.Retract(rx, x, nil); !errors.Is(err, ErrMismatch) || !slices.Equal(marshalState(t, s2), before) {
		t.Fatalf("Retract with an applied prev: %v (changed %v)", err, !slices.Equal(marshalState(t, s2), before))
	}
}

// FuzzRetract: applied events (some naming ids never applied, held on an author's word),
// then one frontier or recorded event retracted (with its descendants: chains, review 12):
// either refused (ErrMismatch: an applied prev only retracted events superseded, or an
// unrecorded descendant; the encoding unchanged) or the frontier is the one a schedule
// that never applied the retracted events reaches, every retracted event is superseded
// and not applied, the state decodes and re-encodes identically, and a prev only they
// named, applied later, enters the frontier.
func FuzzRetract(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 8, 2})
	f.Add([]byte{0, 0, 1, 1, 2, 1, 3, 6, 3})
	f.Add([]byte{0, 0, 1, 1 << 2, 3, 1 << 1, 1})            // a chain: b names c (unseen), d names b; retract b
	f.Add([]byte{0, 0, 1, 1 << 2, 3, 1<<0 | 1<<1, 1})       // a descendant over a and b
	f.Add([]byte{0, 0, 1, 1 << 2, 3, 1 << 1, 4, 1 << 3, 1}) // a longer chain
	f.Fuzz(func(t *testing.T, data []byte) {
		const n = 8
		if len(data) < 1 {
			return
		}
		ids := make([]ID, n)
		for i := range ids {
			ids[i] = testID(string(rune('a' + i)))
		}
		s := NewSchedule(fuzzGroup)
		by := testAuthor("by")
		var evs []Event
		for i := 0; i+1 < len(data)-1; i += 2 {
			e := int(data[i]) % n
			var prev []ID
			for j := range n {
				if data[i+1]&(1<<j) != 0 && j != e {
					prev = append(prev, ids[j])
				}
			}
			pf, _ := NewFrontier(prev...)
			if s.ApplyKnown(Event{ID: ids[e], Prev: pf}, by) == nil {
				evs = append(evs, Event{ID: ids[e], Prev: pf})
			}
		}
		cand := slices.Concat(s.Frontier(), s.Recorded())
		slices.SortFunc(cand, cmpID)
		cand = slices.Compact(cand)
		if len(cand) == 0 {
			return
		}
		id := cand[int(data[len(data)-1])%len(cand)]
		var prev Frontier
		for _, r := range cand {
			p := s.Prev(r)
			if rp, _, ok := s.Record(r); ok {
				p = rp
			}
			prev = append(prev, p...)
		}
		before := marshalState(t, s)
		gone, err := s.Retract(id, by, nil)
		if err != nil {
			if !errors.Is(err, ErrMismatch) || !slices.Equal(marshalState(t, s), before) {
				t.Fatalf("refused retraction: %v, changed %v", err, !slices.Equal(marshalState(t, s), before))
			}
			return
		}
		ref := NewSchedule(fuzzGroup)
		for _, ev := range evs {
			if !slices.Contains(gone, ev.ID) && errors.Is(ref.ApplyKnown(ev, by), ErrMalformed) {
				return // without the retracted events, a cycle of prev empties the frontier first
			}
		}
		if !slices.Contains(gone, id) || !s.Frontier().Equal(ref.Frontier()) {
			t.Fatalf("after Retract: frontier %d events, %d without the %d retracted events", len(s.Frontier()), len(ref.Frontier()), len(gone))
		}
		for _, g := range gone {
			if s.Applied(g) || !s.Superseded(g) {
				t.Fatalf("a retracted event: applied %v superseded %v", s.Applied(g), s.Superseded(g))
			}
		}
		enc := marshalState(t, s)
		var back Schedule
		if err := back.UnmarshalBinary(enc); err != nil || !slices.Equal(marshalState(t, &back), enc) {
			t.Fatalf("round trip: %v", err)
		}
		for _, p := range prev {
			if s.Superseded(p) || s.Applied(p) || slices.Contains(gone, p) {
				continue // named by another event
			}
			if err := s.ApplyKnown(Event{ID: p}, by); err != nil || !s.Frontier().Contains(p) {
				t.Fatalf("a prev forgotten by the retraction, applied: %v, in the frontier %v", err, s.Frontier().Contains(p))
			}
			break
		}
	})
}
