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
	if err := s.Retract(heal, x, nil); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("Retract of an id not in the frontier: %v", err)
	}
	if err := s.Retract(rx, x, nil); err != nil {
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
	if err := s3.Retract(rx, testAuthor("other"), nil); err != nil {
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
	if err := s2.Retract(rx, x, nil); !errors.Is(err, ErrMismatch) || !slices.Equal(marshalState(t, s2), before) {
		t.Fatalf("Retract with an applied prev: %v (changed %v)", err, !slices.Equal(marshalState(t, s2), before))
	}
}

// FuzzRetract: applied events (some naming ids never applied, held on an author's word),
// then one frontier event retracted: either refused (ErrMismatch, an applied prev it alone
// superseded; the encoding unchanged) or the frontier is the one before less that event,
// the state decodes and re-encodes identically, and a prev it alone named, applied later,
// enters the frontier.
func FuzzRetract(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 8, 2})
	f.Add([]byte{0, 0, 1, 1, 2, 1, 3, 6, 3})
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
		for i := 0; i+1 < len(data)-1; i += 2 {
			e := int(data[i]) % n
			var prev []ID
			for j := range n {
				if data[i+1]&(1<<j) != 0 && j != e {
					prev = append(prev, ids[j])
				}
			}
			pf, _ := NewFrontier(prev...)
			_ = s.ApplyKnown(Event{ID: ids[e], Prev: pf}, by)
		}
		fr := s.Frontier()
		if len(fr) == 0 {
			return
		}
		id := fr[int(data[len(data)-1])%len(fr)]
		prev := s.Prev(id)
		before := marshalState(t, s)
		err := s.Retract(id, by, nil)
		if err != nil {
			if !errors.Is(err, ErrMismatch) || !slices.Equal(marshalState(t, s), before) {
				t.Fatalf("refused retraction: %v, changed %v", err, !slices.Equal(marshalState(t, s), before))
			}
			return
		}
		want := slices.DeleteFunc(slices.Clone(fr), func(x ID) bool { return x == id })
		if !s.Frontier().Equal(want) || s.Applied(id) || !s.Superseded(id) {
			t.Fatalf("after Retract: frontier %d events (want %d), applied %v superseded %v", len(s.Frontier()), len(want), s.Applied(id), s.Superseded(id))
		}
		enc := marshalState(t, s)
		var back Schedule
		if err := back.UnmarshalBinary(enc); err != nil || !slices.Equal(marshalState(t, &back), enc) {
			t.Fatalf("round trip: %v", err)
		}
		for _, p := range prev {
			if s.Superseded(p) || s.Applied(p) {
				continue // named by another frontier event
			}
			if err := s.ApplyKnown(Event{ID: p}, by); err != nil || !s.Frontier().Contains(p) {
				t.Fatalf("a prev forgotten by the retraction, applied: %v, in the frontier %v", err, s.Frontier().Contains(p))
			}
			break
		}
	})
}
