package membership_test

import (
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview28BackdatedTwinErasesRemoval — rule 1's twin test lets an admin erase every
// event that descends from one of its own, its removal included, by signing later a TWIN of
// that event (same type and content) with the original's parents and a smaller clock: the
// twin comes first in T (clock order among concurrent events), is kept, and the original —
// now "a twin of a kept event outside its past" — is discarded with every descendant. The
// spec (rule 1, Twins) allows this only "once, at its leave"; it holds for any event an admin
// can sign again with its old past (MEMBERS_ADDED, a rename, ...).
// Scene: alice (creator) adds bob, carol, dave (add), promotes bob (pb); bob adds eve (E,
// clock 500, parent pb); bob steps down (sb, parent E: an admin cannot be removed) and alice
// removes him (R, clock 600, parent sb). Later bob
// signs T = "adds eve", parent pb, clock 450.
// Asserted: with T merged bob is still removed (R applied) and E kept — the honest admin's
// removal cannot be undone by its target. Fails 3 of 3 (deterministic): T kept, E, sb and R
// discarded, bob a member and admin again (Derive is order-independent: every member).
// Pre-existing: fails the same on 53b8fd8's causal.go (before fix 37).
// Where it matters in the protocol: a removed admin's T is refused as a departed author's
// unless the merge keeps it overridden (fix 31's gate) — but T sent before bob learns of R
// (concurrent with R) meets members in either order: those that met T first discard E (not
// stored) and R waits for E for good; those that met R first refuse T: a split.
// Suggested root fix (membership/causal.go twin, spec rule 1): a twin never displaces a kept
// event that some other author's kept event names (or: of two twins keep the one with
// descendants by others / the one earlier in T among those named), or restrict twins to the
// leave (MEMBER_REMOVED of self), discarding any other duplicate type/content by the same
// author only when it comes later in T than an original already named by another author.
func TestReview28BackdatedTwinErasesRemoval(t *testing.T) {
	d := newDAG(t, "review28-twin")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	d.add("pb", "alice", ev(m.AdminsAdded, 300, "bob"), "add")
	d.add("E", "bob", ev(m.MembersAdded, 500, "eve"), "pb")
	d.add("sb", "bob", m.Event{Type: m.AdminRemoved, Clock: 550, Members: m.MembersOf(pubs("bob")...)}, "E")
	r := d.add("R", "alice", ev(m.MemberRemoved, 600, "bob"), "sb")
	before := d.derive()
	if before.IsMember(pubs("bob")[0]) {
		t.Fatal("setup: bob still a member before the twin")
	}
	d.add("T", "bob", ev(m.MembersAdded, 450, "eve"), "pb")
	st := d.derive()
	applied := slices.ContainsFunc(st.Events, func(e m.Event) bool { return e.ID() == r.ID() })
	if st.IsMember(pubs("bob")[0]) || !applied {
		t.Errorf("bob's backdated twin of his own add erased alice's removal of him: bob member %v (admin %v), R applied %v; %d events, %d overridden",
			st.IsMember(pubs("bob")[0]), st.IsAdmin(pubs("bob")[0]), applied, len(st.Events), len(st.Overridden))
	}
}
