package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestRemovalSlotToRemoved: a removal whose key block still gives the removed member's
// installation a slot (a misbehaving author: it holds the removal's seed) leaves the
// epoch unhealed for the members that receive it — the departure is recorded, and the
// block does not exclude it — so a member's next message goes out after a rekey that
// excludes it, never under the removal's epoch (the security property "no departed
// installation can compute a later epoch").
func TestRemovalSlotToRemoved(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 95}, 0)
	admin, rx, victim := tn.add("admin"), tn.add("rx"), tn.add("victim")
	tn.connect(admin, rx, victim)
	tn.connect(rx, victim)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "slot", "", rx.id, victim.id)
	must(t, err)
	tn.settle(admin, rx, victim)
	ins, err := protocol.MemberInstallationsForTest(admin.c, g)
	must(t, err)
	var removed []storage.InstallationRecord
	for _, in := range ins {
		if in.Account == victim.id {
			rec, err := protocol.InstallationForTest(admin.c, in.ID)
			must(t, err)
			removed = append(removed, *rec)
		}
	}
	if len(removed) == 0 {
		t.Fatal("the victim has no installation")
	}
	protocol.SetSlotTargetsHookForTest(admin.c, func(targets []storage.InstallationRecord) []storage.InstallationRecord {
		return append(targets, removed...)
	})
	// rx is off the network while the removal goes out and its epoch is read: were it
	// online, rx could receive the removal, heal and have the admin apply the heal before
	// the read below (seen once under load), and the check would compare against the heal.
	tn.net.SetOffline(rx.name, true)
	must(t, admin.c.RemoveMembers(ctx, g, victim.id))
	protocol.SetSlotTargetsHookForTest(admin.c, nil)
	_, _, removal := protocol.EpochInfo(admin.c, g) // the removal's epoch: the victim holds its seed
	tn.net.SetOffline(rx.name, false)
	tn.settle(admin, rx)
	mustSend(t, rx, g, "after the removal")
	tn.settle(admin, rx)
	tn.waitFor("the admin reads rx's message", func() bool { return admin.texts(g)["after the removal"] == 1 })
	_, _, a := protocol.EpochInfo(admin.c, g)
	_, _, r := protocol.EpochInfo(rx.c, g)
	if a != r {
		t.Fatal("admin and rx on different epochs")
	}
	if r == removal {
		t.Fatal("a message went out under the removal's epoch, whose seed the removed member holds: no rekey excluded it")
	}
}
