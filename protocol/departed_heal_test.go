package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestDepartedRekeyWithSlotsNoWelcomes: TestReview8DepartedRekeyWelcomesAll with blocks
// that give members a seed — the removed x, which never reads its removal, rekeys with its
// client (slots for the 8 members it still counts), honestly or not: a slot for half the
// members only, for the designated (smallest) installation only, or a wrong seed for half
// of them or for every member (refused by the key confirmation: a member that refused
// waits for the designated installation's heal, or authors it). The heal is sealed under
// the members' epoch before the block (spec "A departed author's event and the heal's
// epoch"), so no member is sent a Welcome, whatever slots x gave, and every member reads
// what follows on one epoch (none is left on a frontier whose heal it cannot open).
func TestDepartedRekeyWithSlotsNoWelcomes(t *testing.T) {
	half := func(targets []storage.InstallationRecord) []storage.InstallationRecord {
		return targets[:len(targets)/2]
	}
	smallest := func(targets []storage.InstallationRecord) []storage.InstallationRecord {
		m := slices.MinFunc(targets, func(a, b storage.InstallationRecord) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		return []storage.InstallationRecord{m}
	}
	wrongForHalf := func(to protocol.InstallationID, seed epoch.Seed) epoch.Seed {
		if to[0]&1 == 0 {
			seed[0] ^= 0xff
		}
		return seed
	}
	wrongForAll := func(_ protocol.InstallationID, seed epoch.Seed) epoch.Seed {
		seed[0] ^= 0xff
		return seed
	}
	for _, tc := range []struct {
		name    string
		targets func([]storage.InstallationRecord) []storage.InstallationRecord
		seed    func(protocol.InstallationID, epoch.Seed) epoch.Seed
	}{
		{name: "every member"},
		{name: "half the members", targets: half},
		{name: "the designated only", targets: smallest},
		{name: "a wrong seed for half", seed: wrongForHalf},
		{name: "a wrong seed for every member", seed: wrongForAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			departedRekeyWelcomes(t, tc.targets, tc.seed)
		})
	}
}

func departedRekeyWelcomes(t *testing.T, targets func([]storage.InstallationRecord) []storage.InstallationRecord,
	seed func(protocol.InstallationID, epoch.Seed) epoch.Seed) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 804, Tap: rec.tap}, 9)
	a, x := tn.peers[0], tn.peers[8]
	stay := tn.peers[:8]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g := joinedGroup(t, tn, "welcomes", a, tn.peers[1:]...)
	x.pause() // x reads nothing from now on: it never learns its removal
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle(stay...)
	waitSameEpoch(tn, g, stay...)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	if slices.Contains(info.Members, x.id) {
		t.Fatal("precondition: x still a member")
	}
	before := rekeysOf(stay...)
	_, f0, _ := protocol.EpochInfo(a.c, g)
	if targets != nil {
		protocol.SetSlotTargetsHookForTest(x.c, targets)
	}
	if seed != nil {
		protocol.SetSlotSeedHookForTest(x.c, seed)
	}
	rec.start()
	must(t, x.c.Rekey(ctx, g))
	tn.settle(stay...)
	mustSend(t, a, g, "after the block")
	waitTexts(t, tn, g, []string{"after the block"}, stay...)
	waitSameEpoch(tn, g, stay...)
	mustSend(t, tn.peers[7], g, "and after that")
	waitTexts(t, tn, g, []string{"and after that"}, stay...)
	waitSameEpoch(tn, g, stay...)
	sent := rec.stop()
	var pairwise, pairBytes int
	for _, env := range sent {
		if env.Topic != info.Topic {
			pairwise++
			pairBytes += len(env.Payload)
		}
	}
	heals := rekeysOf(stay...) - before
	_, f1, _ := protocol.EpochInfo(a.c, g)
	t.Logf("x's rekey: %d healing rekeys, %d pairwise publishes (%d B)", heals, pairwise, pairBytes)
	if slices.Equal(f0, f1) || heals < 1 {
		t.Fatalf("precondition: x's block applied and healed (frontier moved %v, %d heals)", !slices.Equal(f0, f1), heals)
	}
	if pairwise > 0 {
		t.Errorf("the heal of a departed installation's block sent %d pairwise Welcomes (%d B) to members that hold the epoch before it", pairwise, pairBytes)
	}
}
