package membership_test

import (
	"crypto/ecdsa"
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

// BenchmarkParseSnapshotProofChain: the most a newcomer spends on one snapshot Welcome's
// admin proof before it knows whether the sender is its inviter — a snapshot of about one
// publish (~149 KB) whose proof is a chain of 300 promotions, every account an admin,
// listed from the creator on ("in-order") or last first ("reversed": a fixed point over
// the list proved one account per pass). One op is one ParseSnapshot; the two should
// cost the same.
func BenchmarkParseSnapshotProofChain(b *testing.B) {
	for _, reversed := range []bool{false, true} {
		b.Run(map[bool]string{false: "in-order", true: "reversed"}[reversed], func(b *testing.B) {
			chat, enc := proofChainSnapshot(b, 300, reversed)
			b.ResetTimer()
			for range b.N {
				if _, err := m.ParseSnapshot(chat, enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "B/snapshot")
		})
	}
}

// proofChainSnapshot encodes a snapshot of n+1 accounts, all admins, proven by a chain of
// n promotions (account i promotes i+1), listed last first if reversed.
func proofChainSnapshot(b *testing.B, n int, reversed bool) (string, []byte) {
	keys := make([]*ecdsa.PrivateKey, n+1)
	strs := make([]string, n+1)
	for i := range keys {
		d := m.SigningDigest(fmt.Sprintf("proof-chain-%d", i), nil)
		k, err := cryptoToECDSA(d[:])
		if err != nil {
			b.Fatal(err)
		}
		keys[i], strs[i] = k, m.PublicKeyString(&k.PublicKey)
	}
	chat := "12345678-1234-4234-8234-123456789abc-" + strs[0]
	signed := func(k *ecdsa.PrivateKey, ev m.Event) m.Event {
		out, err := m.SignEvent(k, chat, ev)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	var parent m.EventID
	parent[0] = 1
	root := signed(keys[0], m.Event{Type: m.NameChanged, Name: "chain", Clock: t0, Parents: []m.EventID{parent}})
	base := &m.Base{Creator: strs[0], Name: "chain", Members: m.MembersOf(strs...), Admins: strs, LastClock: t0, Events: []m.Event{root}}
	for j := range n {
		i := j
		if reversed {
			i = n - 1 - j
		}
		base.Proof = append(base.Proof, signed(keys[i], m.Event{Type: m.AdminsAdded, Clock: t0 + uint64(i), Members: m.MembersOf([]string{strs[i+1]}...),
			Parents: []m.EventID{parent}}))
	}
	enc, err := (&m.State{ChatID: chat, Base: base, Events: base.Events}).MarshalSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	return chat, enc
}

// TestBasedAppliesWhatC1Overrides documents a Known limit (spec: Key schedule v2, Known
// limits): a based member cannot set an event against one concurrent with its snapshot.
// bob steps down (concurrently with the snapshot alice takes for frank), then renames the
// group naming the snapshot's heads but not his step-down (an old past, on purpose): every
// member holding the log overrides the rename (C1: an admin action concurrent with its
// author's step-down); the based member, holding the step-down pending, applies it — until
// the full log reaches it, which replaces its base and undoes the rename.
func TestBasedAppliesWhatC1Overrides(t *testing.T) {
	d := newDAG(t, "based-c1")
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 102, "bob"), "add")
	d.add("stepdown", "bob", ev(m.AdminRemoved, 103, "bob"), "promote")
	frank := d.add("frank", "alice", ev(m.MembersAdded, 104, "frank"), "promote")
	src := d.derive(d.evs["genesis"], d.evs["add"], d.evs["promote"], frank)
	snap, err := m.SnapshotOf(&src, headEvents(&src))
	if err != nil {
		t.Fatal(err)
	}
	rename := m.Event{Type: m.NameChanged, Name: "bob's", Clock: 105}
	renamed := d.add("rename", "bob", rename, "frank")
	full := d.derive()
	if full.Name == "bob's" {
		t.Fatal("setup: the whole log applies the rename")
	}
	based, err := m.Extend(&snap, []m.Event{d.evs["stepdown"], renamed})
	if err != nil {
		t.Fatal(err)
	}
	if based.Name != "bob's" || len(based.Pending) != 1 {
		t.Fatalf("based: name %q, %d pending; the limit no longer holds: update spec Known limits", based.Name, len(based.Pending))
	}
	healed, err := m.Extend(&based, d.all)
	if err != nil {
		t.Fatal(err)
	}
	if healed.Base != nil || healed.Name != full.Name {
		t.Fatalf("after the full log: based %v, name %q, want %q", healed.Base != nil, healed.Name, full.Name)
	}
}
