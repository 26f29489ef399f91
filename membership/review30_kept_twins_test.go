package membership_test

import (
	"fmt"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview30HeldNamesKeepTwins — how many of one author's twins a colluding member can
// keep. Scene: bob signs 128 leave twins (parent "add", clocks 300..427); carol, a member
// with no admin right, signs two leave twins: CL1 (clock 500) naming bob's first 64
// (MaxParents), CL2 (clock 510) naming the other 64. CL1, first in T, is kept and CL2 held.
// Review 30 found that the held CL2 still makes its 64 parents needed (kept), against fix 44's
// first spec text ("a held event never makes a twin needed"). Fix 44b keeps the behaviour and
// states it (spec rule 1: held events name, each keeping at most MaxParents twins, held
// events being bounded by the engine's pending bounds): counting only non-held namers is a
// fixed point that need not converge (holding a namer unneeds its parents, which may then be
// held or release others). Asserted: with CL2, all 128 kept and CL2 held; without CL2, only
// the 64 CL1 names (the other 64 held) — each of carol's events keeps at most MaxParents.
func TestReview30HeldNamesKeepTwins(t *testing.T) {
	d := newDAG(t, "review30-kept-twins")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	var first, second []string
	for i := 0; i < 128; i++ {
		l := fmt.Sprintf("L%d", i)
		d.add(l, "bob", ev(m.MemberRemoved, uint64(300+i), "bob"), "add")
		if i < 64 {
			first = append(first, l)
		} else {
			second = append(second, l)
		}
	}
	d.add("CL1", "carol", ev(m.MemberRemoved, 500, "carol"), first...)
	bobKept := func(st m.State) int {
		kept := 0
		for _, e := range append(append([]m.Event{}, st.Events...), st.Overridden...) {
			if e.Type == m.MemberRemoved && e.Members.Contains(pubs("bob")[0]) {
				kept++
			}
		}
		return kept
	}
	if st := d.derive(); bobKept(st) != 64 {
		t.Errorf("CL1 alone: %d of bob's leave twins kept, want the 64 it names", bobKept(st))
	}
	d.add("CL2", "carol", ev(m.MemberRemoved, 510, "carol"), second...)
	st := d.derive()
	t.Logf("bob's leaves kept %d, pending %d; CL2 held %v", bobKept(st), len(st.Pending), review29Has(st.Pending, d.evs["CL2"]))
	if bobKept(st) != 128 || !review29Has(st.Pending, d.evs["CL2"]) {
		t.Errorf("with CL2: %d of bob's leave twins kept (want 128: CL2, held, names 64 more), CL2 held %v", bobKept(st), review29Has(st.Pending, d.evs["CL2"]))
	}
}
