package epoch

import (
	"fmt"
	"slices"
	"testing"
)

// TestReview14RecordsPoisoned: one rekey naming an id that never comes (a made-up prev, held
// on its author's word — any member can publish one — or the rekey of a member the others
// refused) makes every later key event provisional, since each names the frontier, which
// descends from a recorded event (pending: "a prev it names is ... a recorded event"). The
// records of that chain are never dropped (the id is never applied, forgotten or refused),
// so after MaxProvisional ordinary key events the records are full for good, and review
// 12's chained-rekey order (a departed x's RX naming the unseen heal H, RX2 over RX) can no
// longer be retracted: RX, out of the frontier and unrecorded, gives ErrSuperseded, and H,
// applied, is superseded (late on {.., RX2} for good, the order converge10 closed).
//
// Asserted: after the poison and MaxProvisional honest events, Retract(RX) still takes RX
// and RX2 (as TestRetractChain without the poison), and H then enters the frontier.
// The same scene with the member's rekey naming only F0 passes (the control subtest).
func TestReview14RecordsPoisoned(t *testing.T) {
	t.Run("control", func(t *testing.T) { recordsScene(t, false) })
	t.Run("made-up prev", func(t *testing.T) { recordsScene(t, true) })
}

func recordsScene(t *testing.T, madeUp bool) {
	s := NewSchedule(testID("group"))
	f0 := testID("f0")
	if err := s.Apply(Event{ID: f0}); err != nil {
		t.Fatal(err)
	}
	// A member's rekey naming the frontier and an id that never comes.
	mo := RekeyOrigin{Headed: true}
	mo.Author[0], mo.Nonce[0] = 7, 1
	poisonPrev := Frontier{f0}
	if madeUp {
		poisonPrev = mustFrontier(t, f0, testID("made up"))
	}
	poison := mo.ID(s.Group(), poisonPrev)
	if err := s.ApplyKnown(Event{ID: poison, Prev: poisonPrev, Rekey: &mo}, testAuthor("member m")); err != nil {
		t.Fatal(err)
	}
	// The group's ordinary traffic: members' rekeys, each over the frontier.
	for i := 0; i < MaxProvisional; i++ {
		o := RekeyOrigin{Headed: true}
		o.Author[0], o.Nonce[0], o.Nonce[1] = 8, byte(i), 1
		prev := s.Frontier()
		id := o.ID(s.Group(), prev)
		if err := s.ApplyKnown(Event{ID: id, Prev: prev, Rekey: &o}, testAuthor(fmt.Sprint("member ", i%3))); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("made-up prev %v, then %d members' rekeys: %d records (bound %d)", madeUp, MaxProvisional, len(s.Recorded()), MaxProvisional)
	base := s.Frontier()

	// Review 12's chain: x (a member here) rekeys naming the heal H it applied after its
	// leave, and again over that.
	x := testAuthor("x")
	heal := testID("heal")
	o := RekeyOrigin{Headed: true, Heads: Frontier{testID("heads of rx")}}
	o.Author[0] = 1
	rx := o.ID(s.Group(), Frontier{heal})
	if err := s.ApplyKnown(Event{ID: rx, Prev: Frontier{heal}, Rekey: &o}, x); err != nil {
		t.Fatal(err)
	}
	o2 := RekeyOrigin{Headed: true}
	o2.Author[0], o2.Nonce[0] = 1, 2
	rx2 := o2.ID(s.Group(), Frontier{rx})
	if err := s.ApplyKnown(Event{ID: rx2, Prev: Frontier{rx}, Rekey: &o2}, x); err != nil {
		t.Fatal(err)
	}
	_, rxRecorded := slices.BinarySearchFunc(s.Recorded(), rx, cmpID)
	s = roundTrip(t, s)
	gone, err := s.Retract(rx, x, base)
	if err != nil {
		t.Fatalf("Retract(RX) after the records filled (RX recorded: %v): %v", rxRecorded, err)
	}
	if !slices.Equal(gone, mustFrontier(t, rx, rx2)) {
		t.Fatalf("retracted %d events, want RX and RX2", len(gone))
	}
	if err := s.ApplyKnown(Event{ID: heal, Prev: base}, testAuthor("des")); err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(Frontier{heal}) {
		t.Fatalf("frontier after the heal: %d events, want {H}", len(s.Frontier()))
	}
}
