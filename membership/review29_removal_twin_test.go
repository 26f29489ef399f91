package membership_test

import (
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview29NamedRemovalTwinHeld (passes: a scene that held) — can a colluder's naming
// of an admin's removal twin undo a re-add and promotion of its target? Scene: alice adds
// bob, carol, dave, eve and promotes carol and dave; dave removes eve (R1, clock 400);
// carol re-adds eve (A, 500, parent R1) and promotes her (P, 550); dave signs a twin R2 of
// R1 (R1's parent, clock 900) and bob leaves naming R2 (named: both twins kept).
// Asserted: eve is a member and an admin — R2, concurrent with P, is threatened by it (C2)
// and P by nothing: R2 is overridden. Passes 3 of 3 runs (deterministic). Without P, R2
// applies after A in T and eve is out again — what dave could do honestly after A (eve no
// admin), so not a hole; with dave removed or stepped down concurrently C1 overrides R2.
func TestReview29NamedRemovalTwinHeld(t *testing.T) {
	d := newDAG(t, "review29-removal-twin")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave", "eve"), "genesis")
	d.add("pa", "alice", ev(m.AdminsAdded, 300, "carol", "dave"), "add")
	d.add("R1", "dave", ev(m.MemberRemoved, 400, "eve"), "pa")
	d.add("A", "carol", ev(m.MembersAdded, 500, "eve"), "R1")
	d.add("P", "carol", ev(m.AdminsAdded, 550, "eve"), "A")
	r2 := d.add("R2", "dave", ev(m.MemberRemoved, 900, "eve"), "pa")
	d.add("BL", "bob", ev(m.MemberRemoved, 950, "bob"), "R2")
	st := d.derive()
	eve := pubs("eve")[0]
	if !st.IsMember(eve) || !st.IsAdmin(eve) || !review29Has(st.Overridden, r2) {
		t.Errorf("a named twin of dave's removal undid carol's re-add and promotion of eve: eve member %v admin %v, R2 overridden %v",
			st.IsMember(eve), st.IsAdmin(eve), review29Has(st.Overridden, r2))
	}
	if st.IsMember(pubs("bob")[0]) {
		t.Errorf("setup: bob's leave naming R2 did not apply")
	}
}
