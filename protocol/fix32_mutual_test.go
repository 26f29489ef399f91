package protocol_test

import (
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestFix32MutualRemovalParentLate (fix 32): TestReview26MutualRemovalConcurrent's scene with
// b given Pt, R, then M before its parent Pm, then Pm: when M comes, R applies at b (m no
// member), and M waits for Pm or is dropped as a non-member's; Pm then overrides R (C2)
// until M is merged (C3). Asserted as there: one membership, one epoch, nothing held, texts
// read, m and t read nothing after.
//
// Measured: base c208881 fails 3 of 3 (b applied R's key block before the override; its heal,
// sealed under an epoch composed with R's seed that a and a2 refused without keeping, was
// unread for good; M held on a's word at b). Fix 32 (keepRefused in refuseOverridden, the
// departed author's publish pending for a parent): passes alone and under -race, but FAILS
// about 1 in 4 under load (broad set beside other helpers): a/a2 end on {h_a, h_b}, b on
// {h_b} — b never opens a's heal concurrent with its own (sealed under {h_a2'} , an epoch b
// never held alone, b having stood on {R, ...}). Residual, not fixed here (see report).
//
// Fix 34 (root cause, not fixed): a and a2 apply b's heal H_b (prev {R}) beside R's prev P
// (they refused R): their frontier {P, H_b}, the designated heal sealed under it. In b's
// schedule P is behind H_b (through R): its kept seeds' candidates (antichains only) never
// compose {P, H_b}. Still about 1 in 3 under load (spec Frontier, "Known limit (crossing
// heals after a C3 removal)", for what was tried).
//
// Fix 36 (logs): the failing runs were those where b healed R's removal of m (H_b, prev {R})
// as soon as it applied R, before M and Pm came (a heal run after the receive of R's
// publish commits, within the hand-off: b the designated installation); a's heal, prev {P,
// H_b}, then crossed b's next heal. "b-heals-first" gives b the smallest installation id;
// "as-it-comes" is the scene as before. Measured before the fix: b-heals-first 5 of 6 fail
// (the one pass: b had not healed at the hand-off). Fix 36 (cutOverridden: R's kept seed
// loses its prev links once R is judged overridden, so b composes {P, H_b}): under load
// (-count=12 beside -race -count=4) 12 of 12 + 4 of 4 pass, both variants.
func TestFix32MutualRemovalParentLate(t *testing.T) {
	for _, bHealsFirst := range []bool{false, true} {
		name := "as-it-comes"
		if bHealsFirst {
			name = "b-heals-first"
		}
		t.Run(name, func(t *testing.T) { fix32ParentLate(t, bHealsFirst) })
	}
}

func fix32ParentLate(t *testing.T, bHealsFirst bool) {
	s := newMutualScene(t, 3212, bHealsFirst)
	s.handOff(func() {
		// M before its parent Pm, R applied: m no member when M comes.
		protocol.ReceiveLiveForTest(s.b.c, slices.Concat(s.envPt, s.envR, s.envM, s.envPm))
		s.logB()
	})
	s.check()
}
