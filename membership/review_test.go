package membership_test

import (
	"fmt"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestSnapshotProofCycles: a snapshot's admin proof holds what proves its current admins,
// not every promotion the log ever applied. An admin promoting a member that steps down
// again, 1100 times, made every snapshot of the group carry 1100 ADMINS_ADDED: more than
// MaxSnapshotProof, so SnapshotOf failed — a based member could then send no Welcome
// (adds, linked devices, healing gaps). One promotion proves bob.
func TestSnapshotProofCycles(t *testing.T) {
	d := newDAG(t, "snap-proof-cycles")
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol"), "genesis")
	prev := "add"
	clock := uint64(102)
	for i := range m.MaxSnapshotProof + 76 {
		up, down := fmt.Sprint("up", i), fmt.Sprint("down", i)
		d.add(up, "alice", ev(m.AdminsAdded, clock, "bob"), prev)
		d.add(down, "bob", ev(m.AdminRemoved, clock+1, "bob"), up)
		prev, clock = down, clock+2
	}
	d.add("last", "alice", ev(m.AdminsAdded, clock, "bob"), prev)
	dave := d.add("dave", "bob", ev(m.MembersAdded, clock+1, "dave"), "last")
	st := d.derive()
	if !st.IsAdmin(actors["bob"].pub) || !st.IsMember(actors["dave"].pub) {
		t.Fatal("setup: bob is not an admin, or dave not a member")
	}
	snap, err := m.SnapshotOf(&st, []m.Event{dave})
	if err != nil {
		t.Fatalf("snapshot after %d promotions of one member: %v", m.MaxSnapshotProof+77, err)
	}
	if len(snap.Base.Proof) != 1 {
		t.Errorf("proof of %d events, want 1 (a promotion of bob)", len(snap.Base.Proof))
	}
	enc, err := snap.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.ParseSnapshot(d.chat, enc)
	if err != nil || !got.IsAdmin(actors["bob"].pub) {
		t.Fatalf("snapshot refused: %v", err)
	}
	if again, err := m.SnapshotOf(&got, got.Base.Events); err != nil || len(again.Base.Proof) != 1 {
		t.Fatalf("a based state's snapshot: %v", err)
	}
}
