package membership_test

import (
	"slices"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview30HeldRootRefusesFullLog — fix 44's held twin against a based state (a newcomer
// that joined by snapshot). Scene: alice adds bob and carol ("add"), then adds dave (E,
// clock 500, parent add); dave joins from alice's snapshot, E its one root. alice's key
// then signs T, the same add of dave with parent "add" and clock 450: a twin of E, first
// in T; nothing names E, so wherever the whole log is merged E is held (pending) and T
// applied (same members). bob, who merged T (his head), leaves: LB names T.
// At dave, T and LB wait (T's parent precedes the base: spec "based states"), so bob stays
// a member there; the spec's remedy is the full log, which "replaces the base when the
// rules ... keep every event the based state keeps" (placesAll) — but E, dave's root, is
// held (pending) in the full log's state, so the full log is refused: dave never applies
// bob's leave, whatever he is sent (the protocol face: TestReview30HeldAddKeyBlock).
// Asserted: the based state, after T and LB and then the full log, has the members and
// heads of Derive(full log).
func TestReview30HeldRootRefusesFullLog(t *testing.T) {
	d := newDAG(t, "review30-based")
	d.add("add", "alice", ev(m.MembersAdded, 200, "bob", "carol"), "genesis")
	d.add("E", "alice", ev(m.MembersAdded, 500, "dave"), "add")
	src := d.derive()
	snap, err := m.SnapshotOf(&src, headEvents(&src))
	if err != nil {
		t.Fatal(err)
	}
	tw := d.add("T", "alice", ev(m.MembersAdded, 450, "dave"), "add")
	lb := d.add("LB", "bob", ev(m.MemberRemoved, 600, "bob"), "T")
	want := d.derive()
	if !review29Has(want.Pending, d.evs["E"]) || !review29Has(want.Events, tw) || !review29Has(want.Events, lb) || want.IsMember(pubs("bob")[0]) {
		t.Fatalf("setup: whole log: E held %v, T applied %v, LB applied %v", review29Has(want.Pending, d.evs["E"]), review29Has(want.Events, tw), review29Has(want.Events, lb))
	}
	got, _, err := m.Update(&snap, encodeMsg(t, d.chat, tw, lb), actors["dave"].pub, farFuture, m.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("based after T, LB: bob a member %v, pending %d", got.IsMember(pubs("bob")[0]), len(got.Pending))
	full, _, err := m.Update(&got, encodeMsg(t, d.chat, d.all...), actors["dave"].pub, farFuture, m.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if full.IsMember(pubs("bob")[0]) || !slices.Equal(full.Heads, want.Heads) || !full.Members.Equal(want.Members) {
		t.Errorf("dave's based state after the full log: bob a member %v, based %v (want not), heads equal %v, pending %d (want %d): the full log was refused (E, its root, is held there)",
			full.IsMember(pubs("bob")[0]), full.Base != nil, slices.Equal(full.Heads, want.Heads), len(full.Pending), len(want.Pending))
	}
}
