package epoch

import (
	"bytes"
	"testing"
)

// TestReview24RefuseHeldRecordOutlivesHold — fix24a's RefuseHeld releases the hold on a
// refused id M named first by a heal Q and prunes the records "provisional only for the
// hold", claiming the schedule is then the one Refuse-before-Q gives (same bytes). That holds
// only when M was Q's sole reason to be recorded. Scene: a departed author z's rekey P names
// an unseen id X (held on z's word, P recorded: retractable); member a's heal Q names P and
// the refused M. Order "refuse-first" (M's block met first: Refuse, then P, Q): Q names a
// recorded event of another author's root (z) and no held id — recordable says no, Q is
// applied without a record. Order "heal-first" (P, Q, then M's block: RefuseHeld): Q was
// recorded for holding M, and pruneRecords keeps the record because Q still names recorded
// P (pending), though Q would never have been recorded for P. Then K, a's next event over Q,
// takes Q out of the frontier, and z's departure retracts P (next: the event applied right
// after names C). Asserted: both orders give the same schedule bytes, and Retract(P) the same
// outcome and frontier. Measured (main fb7f261): fails 3 of 3 — records [P Q] vs [P]
// (different bytes); after K, heal-first still records P through Q's record and retracts P,
// Q and K (frontier emptied for the next event, over C), while refuse-first has pruned P's record (named by Q, kept
// nowhere) and refuses the retraction (ErrSuperseded), frontier K: two members of one
// group end on different frontiers (epochs) from one set of events met in another order.
// Control: without P (Q names C and M), both orders give the same bytes (passes 3 of 3).
func TestReview24RefuseHeldRecordOutlivesHold(t *testing.T) {
	c, x, p, m, q, k := testID("creation"), testID("x unseen"), testID("P z's rekey"), testID("M refused"), testID("Q a's heal"), testID("K a's next")
	z, a := testAuthor("z departed"), testAuthor("a member")
	for _, withP := range []bool{false, true} {
		name := "control (no P)"
		if withP {
			name = "P recorded"
		}
		t.Run(name, func(t *testing.T) {
			base := func() *Schedule {
				s := NewSchedule(testID("group"))
				if err := s.Apply(Event{ID: c}); err != nil {
					t.Fatal(err)
				}
				return s
			}
			qPrev := mustFrontier(t, c, m)
			if withP {
				qPrev = mustFrontier(t, p, m)
			}
			events := func(s *Schedule) {
				if withP {
					if err := s.ApplyKnown(Event{ID: p, Prev: mustFrontier(t, c, x)}, z); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.ApplyKnown(Event{ID: q, Prev: qPrev}, a); err != nil {
					t.Fatal(err)
				}
			}
			first := base() // M's block first: refused, then P and the heal
			if err := first.Refuse(m); err != nil {
				t.Fatal(err)
			}
			events(first)
			later := base() // the heal first: M held on a's word, then M's block refused
			events(later)
			if later.Held(a) != 1 {
				t.Fatalf("setup: heal first holds %d on a's word, want 1 (M)", later.Held(a))
			}
			if !later.RefuseHeld(m) {
				t.Fatal("setup: RefuseHeld of M held on a's word: no change")
			}
			t.Logf("records: refuse-first %d %v, heal-first %d %v", len(first.Recorded()), short(first.Recorded()), len(later.Recorded()), short(later.Recorded()))
			if !bytes.Equal(marshalState(t, first), marshalState(t, later)) {
				t.Errorf("heal first then RefuseHeld differs from Refuse then the heal: records %v vs %v",
					short(later.Recorded()), short(first.Recorded()))
			}
			if !withP {
				return
			}
			for _, s := range []*Schedule{first, later} {
				if err := s.ApplyKnown(Event{ID: k, Prev: Frontier{q}}, a); err != nil {
					t.Fatal(err)
				}
			}
			next := Frontier{c} // the event applied right after the retraction names the frontier before P
			g1, e1 := first.Retract(p, z, next)
			g2, e2 := later.Retract(p, z, next)
			t.Logf("Retract(P): refuse-first %v (%v) frontier %v; heal-first %v (%v) frontier %v",
				short(g1), e1, short(first.Frontier()), short(g2), e2, short(later.Frontier()))
			if (e1 == nil) != (e2 == nil) || !first.Frontier().Equal(later.Frontier()) {
				t.Errorf("z's departure retracts P in one order only: refuse-first err %v, heal-first err %v; frontiers differ", e1, e2)
			}
		})
	}
}

func short(ids []ID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.String()[:6])
	}
	return out
}
