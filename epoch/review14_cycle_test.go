package epoch

import "testing"

// TestReview14PrevCycle (review 14; not a session 10 change): two key events naming each
// other as prev empty every frontier that applies both, in either order, and for good (a
// rekey's prev cannot be empty, so no member can rekey out of it; the engine's sends fail:
// "no key event applied", TestReview14LegacyRekeyCycle). Ids that let a member close the
// cycle: a legacy rekey id (LegacyRekeyID: author and nonce only, known before its prev is
// chosen), and a membership key event's id (its membership event's, fixed before its key
// block's prev is built, which may name a rekey freely: spec "Authority", the prev check
// of a membership key event checks only the membership events it names) beside a rekey
// whose prev names it. Asserted for both pairs and both orders: the frontier is not empty
// after the second event (the second refused, the schedule as after the first, or any
// non-empty frontier). Since cycle12 the engine applies no such event it has not applied
// before (KeyBlock.Committed: a legacy rekey, or a membership key event without the epoch
// prev digest of its block, is uncommitted; TestCycle12*): this refusal is the second line,
// for ids the package is given by its caller.
func TestReview14PrevCycle(t *testing.T) {
	group := testID("group")
	f := testID("f")
	by := testAuthor("m")
	var au Installation
	au[0] = 3
	legacyA := LegacyRekeyID(group, au, [NonceSize]byte{1})
	legacyB := LegacyRekeyID(group, au, [NonceSize]byte{2})
	member := testID("membership event of m") // a membership key event's id: its event's
	o := RekeyOrigin{Author: au, Headed: true, Heads: Frontier{member}}
	o.Nonce[0] = 9
	rekey := o.ID(group, Frontier{member}) // a rekey over it (its id commits to prev {M})
	for _, tc := range []struct {
		name   string
		first  Event
		second Event
	}{
		{"legacy A then B", Event{ID: legacyA, Prev: mustFrontier(t, f, legacyB)}, Event{ID: legacyB, Prev: Frontier{legacyA}}},
		{"legacy B then A", Event{ID: legacyB, Prev: Frontier{legacyA}}, Event{ID: legacyA, Prev: mustFrontier(t, f, legacyB)}},
		{"membership then rekey", Event{ID: member, Prev: mustFrontier(t, f, rekey)}, Event{ID: rekey, Prev: Frontier{member}, Rekey: &o}},
		{"rekey then membership", Event{ID: rekey, Prev: Frontier{member}, Rekey: &o}, Event{ID: member, Prev: mustFrontier(t, f, rekey)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSchedule(group)
			if err := s.Apply(Event{ID: f}); err != nil {
				t.Fatal(err)
			}
			if err := s.ApplyKnown(tc.first, by); err != nil {
				t.Fatal(err)
			}
			after := len(s.Frontier())
			err := s.ApplyKnown(tc.second, by)
			if len(s.Frontier()) == 0 {
				t.Errorf("frontier empty after both (%d events after the first; second: %v)", after, err)
			}
		})
	}
}
