package membership_test

import (
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview31HeldTwinDisarms — fix 44b's twin reach rule (causal.go twinReaches, spec rule
// 3 "Twins reach no further") lets a HELD twin change the state. A held twin is pending
// ("not applied, threatening nothing", rule 1; the engine's departed-author gate refuses a
// departed author's event only when the merge would apply it), yet its presence removes
// its original's threats — in both directions of "reach": a twin signed AFTER e (e in its
// past) disarms its original's honest threat on e. So the author of a leave or step-down
// can withdraw, at any later time, the C1 threat that overrode its own concurrent admin
// action, and revive that action after it left or stepped down.
// (Admins cannot be removed, only leave or step down, so C1 threats on an admin action are
// its author's own leave or step-down: the twin's signer is the overridden action's author.)
// Scene (subtest leave): alice adds bob, carol, dave, eve and promotes dave (P). dave's two
// devices act concurrently: one removes bob (A, parent P), the other leaves (L, parent P):
// L threatens A (C1), A overridden, bob stays. alice renames naming A and L (N: L needed).
// dave's key, dave departed, then signs L', its leave again with parent A (a twin of L,
// unneeded: held). twinReaches(L, A): L' held, not concurrent with A, concurrent with L —
// L no longer threatens A, A applies: bob removed by a departed admin, through an event the
// state lists as pending. Subtest stepdown: the same with dave stepping down (S) instead of
// leaving and S' (dave still a member, no admin right: no gate is involved at all).
// Control in each: dave signs a new removal of bob concurrent with its leave / step-down
// (no twin) — overridden by C1, bob stays.
// Asserted: bob is a member after L' / S' (as before it), A stays overridden.
// Result (merge26 26aa36f): both fail — L'/S' pending, A applied, bob no member; controls
// pass (bob a member).
// Note: by DAG structure this is the mirror of review 30's window case (there the held twin
// L1 has e in its past and the kept L2 is concurrent with e — here too); what differs is
// that L is NEEDED (named by N: the members built on A overridden). Suggested fix: a held
// twin counts in twinReaches only while no twin of it is needed (held by T order alone,
// review 30's window), not once a twin is needed (here). With a colluder naming L' (both
// needed) the scene is structurally review 30's named-by-leave case with the roles of the
// honest and the copied twin swapped: no rule over the DAG tells them apart (see report).
func TestReview31HeldTwinDisarms(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop m.EventType
	}{{"leave", m.MemberRemoved}, {"stepdown", m.AdminRemoved}} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(label string) (*dag, m.Event) {
				d := newDAG(t, label)
				d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave", "eve"), "genesis")
				d.add("P", "alice", ev(m.AdminsAdded, 300, "dave"), "add")
				a := d.add("A", "dave", ev(m.MemberRemoved, 400, "bob"), "P")
				d.add("L", "dave", ev(tc.drop, 410, "dave"), "P")
				d.add("N", "alice", m.Event{Type: m.NameChanged, Clock: 500, Name: "after"}, "A", "L")
				return d, a
			}
			bob := pubs("bob")[0]
			d, a := build("review31-disarm-" + tc.name)
			before := d.derive()
			if !before.IsMember(bob) || !review29Has(before.Overridden, a) {
				t.Fatalf("setup: bob a member %v, A overridden %v", before.IsMember(bob), review29Has(before.Overridden, a))
			}
			l2 := d.add("L'", "dave", ev(tc.drop, 450, "dave"), "A")
			st := d.derive()
			t.Logf("after L': L' pending %v, A applied %v, bob a member %v, dave a member %v admin %v", review29Has(st.Pending, l2),
				review29Has(st.Events, a), st.IsMember(bob), st.IsMember(pubs("dave")[0]), st.IsAdmin(pubs("dave")[0]))
			if !st.IsMember(bob) || !review29Has(st.Overridden, a) {
				t.Errorf("dave's twin L' signed after A (pending %v) withdrew L's threat on dave's removal of bob: A applied %v, bob a member %v",
					review29Has(st.Pending, l2), review29Has(st.Events, a), st.IsMember(bob))
			}

			c, _ := build("review31-disarm-control-" + tc.name)
			c.add("Y", "dave", ev(m.MemberRemoved, 450, "bob"), "P")
			if cs := c.derive(); !cs.IsMember(bob) {
				t.Errorf("control: dave's own new removal of bob concurrent with L applied (bob no member)")
			}
		})
	}
}

// TestReview31PromotionTwinCannotDisarm — a held scene (passes on merge26 26aa36f): the C2
// direction of TestReview31HeldTwinDisarms does not open. dave (promoted by alice)
// promotes bob (P); concurrently alice removes bob (E): P threatens E (C2), E overridden,
// bob stays; alice renames naming both (N). dave then steps down (S, naming N) and signs
// P', its promotion of bob again with parent E (to withdraw P's shield): in the past of P' bob
// is removed, so P' is invalid (discarded), not a twin. alice's twin E' of her removal
// with P in its past is invalid too (bob an admin there: admins are not removed). And a C1
// threat on an admin action is always its author's own leave or step-down (admins cannot
// be removed), so only the acting author can disarm one (TestReview31HeldTwinDisarms).
// Asserted: bob a member and an admin after P' and E'; E overridden.
func TestReview31PromotionTwinCannotDisarm(t *testing.T) {
	d := newDAG(t, "review31-c2")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	d.add("Pd", "alice", ev(m.AdminsAdded, 300, "dave"), "add")
	d.add("P", "dave", ev(m.AdminsAdded, 400, "bob"), "Pd")
	e := d.add("E", "alice", ev(m.MemberRemoved, 410, "bob"), "Pd")
	d.add("N", "alice", m.Event{Type: m.NameChanged, Clock: 500, Name: "after"}, "P", "E")
	d.add("S", "dave", ev(m.AdminRemoved, 600, "dave"), "N")
	bob := pubs("bob")[0]
	before := d.derive()
	if !before.IsMember(bob) || !before.IsAdmin(bob) || !review29Has(before.Overridden, e) {
		t.Fatalf("setup: bob a member %v admin %v, E overridden %v", before.IsMember(bob), before.IsAdmin(bob), review29Has(before.Overridden, e))
	}
	d.add("P'", "dave", ev(m.AdminsAdded, 450, "bob"), "E")
	d.add("E'", "alice", ev(m.MemberRemoved, 450, "bob"), "P")
	st := d.derive()
	if !st.IsMember(bob) || !st.IsAdmin(bob) || !review29Has(st.Overridden, e) {
		t.Errorf("after P' and E': bob a member %v admin %v, E overridden %v", st.IsMember(bob), st.IsAdmin(bob), review29Has(st.Overridden, e))
	}
}
