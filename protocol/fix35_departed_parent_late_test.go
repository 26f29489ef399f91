package protocol_test

import (
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestFix35DepartedNonKeyParentLate — a departed author's NON-key membership event whose
// parent is missing when it comes. As TestFix31DepartedNonKey, m's account departs (D:
// "removal", m2's step-down then a's removal of m; "leave", m2 leaves) while m, unaware,
// renames twice: R1, then R2 naming R1 as parent; rule C1 keeps both overridden wherever D
// is merged. b (admin) meets R1, R2, then D. a and c meet D first, then R2 BEFORE its
// parent R1, then R1. Fix 31 opened such a publish only when its event was kept
// overridden at once: R2, pending in the merge (its parent R1 unknown), was ErrNotMember —
// refused, its envelope marked seen, never retried — so R2 was lost at a and c, and b's
// later rename, naming R2 as parent, waited there for good (heads differ), as fix 32 found
// for a departed author's KEY event.
// Asserted: R2 met before its parent changes nothing at a and c (no membership head, no
// message of m's) and waits as a pending envelope claimed by m's installation (the bounds
// on pending envelopes, per sender included, apply to it); once R1 comes, both are merged (not applied: the group keeps its first
// name), the same heads at a, b and c, b's later rename applies at a and c, messages are
// read both ways.
func TestFix35DepartedNonKeyParentLate(t *testing.T) {
	for _, depart := range []string{"removal", "leave"} {
		t.Run(depart, func(t *testing.T) {
			seed := int64(3501)
			if depart == "leave" {
				seed = 3511
			}
			tn, a, b, m, m2, c, g := fix31Scene(t, seed)
			// R1, then R2 (R1 its parent), both concurrent with D.
			envD, envRs := departSplit(t, tn, a, b, m, m2, c, g, depart, "m's name", "m's second name")
			envR1, envR2 := envRs[0], envRs[1]
			protocol.ReceiveLiveForTest(b.c, slices.Concat(envR1, envR2, envD))
			if depart == "leave" {
				protocol.ReceiveLiveForTest(a.c, slices.Clone(envD))
			}
			protocol.ReceiveLiveForTest(c.c, slices.Clone(envD))
			for _, x := range []*peer{a, c} {
				h0, n0 := protocol.HeadsForTest(x.c, g), fromCount(t, x, g, m.id)
				protocol.ReceiveLiveForTest(x.c, slices.Clone(envR2))
				if h1, n1 := protocol.HeadsForTest(x.c, g), fromCount(t, x, g, m.id); !slices.Equal(h0, h1) || n1 != n0 {
					t.Errorf("%s: R2 before its parent changed heads (%d -> %d) or messages of m's (%d -> %d): it waits, nothing stored", x.name, len(h0), len(h1), n0, n1)
				}
				if claimed, _ := protocol.PendingClaimedForTest(x.c, m.c); claimed == 0 {
					t.Errorf("%s: R2 before its parent is not kept pending under m's installation's claim (the per-sender bound on pending envelopes)", x.name)
				}
				protocol.ReceiveLiveForTest(x.c, slices.Clone(envR1))
				if n := fromCount(t, x, g, m.id); n != n0 {
					t.Errorf("%s stores %d messages of m's after R1 and R2, %d before: a departed author's publish is merged, its message not stored", x.name, n, n0)
				}
			}
			online(tn, a, b, c)
			for _, x := range []*peer{a, c} {
				if claimed, _ := protocol.PendingClaimedForTest(x.c, m.c); claimed != 0 {
					t.Errorf("%s: R2 still pending (%d bytes claimed by m's installation) once its parent came", x.name, claimed)
				}
			}
			departedRenamesChecked(t, tn, a, b, c, g, "R2", "R2 lost where it came before its parent")
		})
	}
}
