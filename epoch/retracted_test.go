package epoch

import (
	"errors"
	"slices"
	"testing"
)

// TestRetractDropsLive (review 14, TestReview14RekeyOverRetracted at the schedule): the
// live epochs computed with the retracted events are retired by the retraction — the
// epoch of the frontier before it ({F0, RX2}) and of a retracted event beside the frontier
// events not retracted ({F0, RX}) — so that what their departed author seals under them no
// longer opens; the epoch before them ({F0}) stays live.
func TestRetractDropsLive(t *testing.T) {
	s, f0, _, rx, x := chainScene(t)
	e0 := mustCurrentOf(t, s, Frontier{f0})
	seed := Seed(testID("seed rx"))
	eRX := mustCurrent(t, s, map[ID]*Seed{rx: &seed})
	o2 := RekeyOrigin{Headed: true}
	o2.Author[0], o2.Nonce[0] = 1, 2
	rx2 := o2.ID(s.Group(), Frontier{rx})
	if err := s.ApplyKnown(Event{ID: rx2, Prev: Frontier{rx}, Rekey: &o2}, x); err != nil {
		t.Fatal(err)
	}
	seed2 := Seed(testID("seed rx2"))
	eRX2 := mustCurrent(t, s, map[ID]*Seed{rx2: &seed2})
	if _, err := s.Retract(rx, x, Frontier{f0}); err != nil {
		t.Fatal(err)
	}
	live := s.Live()
	has := func(e Epoch) bool { return slices.ContainsFunc(live, func(l Epoch) bool { return l.ID == e.ID }) }
	if has(eRX) || has(eRX2) || !has(e0) {
		t.Fatalf("live after the retraction: {F0, RX} %v, {F0, RX2} %v, {F0} %v (want false false true)", has(eRX), has(eRX2), has(e0))
	}
}

// mustCurrent sets seeds and returns the current epoch.
func mustCurrent(t *testing.T, s *Schedule, seeds map[ID]*Seed) Epoch {
	t.Helper()
	for id, seed := range seeds {
		if err := s.SetSeed(id, seed); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustCurrentOf returns the epoch of frontier f, computed by a schedule holding only f's
// events with s's seeds, and records it in s's live epochs as s would have before.
func mustCurrentOf(t *testing.T, s *Schedule, f Frontier) Epoch {
	t.Helper()
	c := NewSchedule(s.Group())
	for _, id := range f {
		if err := c.Apply(Event{ID: id}); err != nil {
			t.Fatal(err)
		}
		seed, ok := s.Seed(id)
		if !ok {
			t.Fatal("no seed")
		}
		if err := c.SetSeed(id, &seed); err != nil {
			t.Fatal(err)
		}
	}
	e, err := c.Current()
	if err != nil {
		t.Fatal(err)
	}
	s.live = append([]Epoch{e}, s.live...)
	return e
}

// TestRetractedRefusedEveryPath: after Retract(RX), a key event naming RX is refused
// (ErrRetracted, the schedule unchanged) whether it comes in its key block (ApplyKnown),
// as a Welcome's join entry (ApplyWelcomed), as our own (Apply), or as the signed prev of
// an entry applied before (SeenPrev).
func TestRetractedRefusedEveryPath(t *testing.T) {
	s, f0, heal, rx, x := chainScene(t)
	if _, err := s.Retract(rx, x, Frontier{f0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyKnown(Event{ID: heal, Prev: Frontier{f0}}, testAuthor("des")); err != nil {
		t.Fatal(err)
	}
	entry := testID("entry")
	if err := s.ApplyWelcomed(Event{ID: entry, Prev: Frontier{heal}}, testAuthor("w")); err != nil {
		t.Fatal(err)
	}
	before := marshalState(t, s)
	naming := Event{ID: testID("over rx"), Prev: mustFrontier(t, entry, rx)}
	for name, apply := range map[string]func() error{
		"ApplyKnown":    func() error { return s.ApplyKnown(naming, testAuthor("m")) },
		"ApplyWelcomed": func() error { return s.ApplyWelcomed(naming, testAuthor("w")) },
		"Apply":         func() error { return s.Apply(naming) },
		"SeenPrev": func() error {
			_, err := s.SeenPrev(Event{ID: entry, Prev: mustFrontier(t, heal, rx)}, testAuthor("m"))
			return err
		},
	} {
		if err := apply(); !errors.Is(err, ErrRetracted) || !slices.Equal(marshalState(t, s), before) {
			t.Fatalf("%s of an event naming retracted RX: %v (changed %v)", name, err, !slices.Equal(marshalState(t, s), before))
		}
	}
}
