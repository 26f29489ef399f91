package protocol_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview8KeyEventSealedUnderOldEpoch (review 8): an admin b that applied a removal R of
// x but does not hold R's seed yet — R's key block came in several parts (a large group)
// and the part with b's slot is late — authors an add. prepareV2 lets a key event be sent
// without a heal first when the epoch is unhealed only by missing seeds ("no departed
// installation can compute it"), and then seals it under live[len(live)-1], since the
// current epoch cannot be computed: that is the epoch before R, which the removed x
// holds. x opens the add's publish: the add event (who is added, by whom, their device
// lists) and its key block header.
func TestReview8KeyEventSealedUnderOldEpoch(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 804, Tap: rec.tap}, 8)
	a, b, x, d := tn.peers[0], tn.peers[1], tn.peers[6], tn.peers[7]
	rest := tn.peers[2:6]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "missing", "", append(ids(b, x), ids(rest...)...)...)
	must(t, err)
	members := append([]*peer{a, b, x}, rest...)
	tn.waitFor("joined", func() bool {
		for _, p := range members[1:] {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle(members...)
	waitSameEpoch(tn, g, members...)
	kept := protocol.LiveEpochsForTest(x.c, g) // what x keeps of the group
	info, err := a.c.Group(ctx, g)
	must(t, err)

	b.pause() // b gets R's parts only as the test hands them over
	protocol.SetFrameLimit(a.c, 1200)
	rec.start()
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	var parts [][]byte
	for _, env := range rec.stop() {
		if env.Topic == info.Topic {
			parts = append(parts, env.Payload)
		}
	}
	if len(parts) < 2 {
		t.Fatalf("precondition: the removal's block came in %d publish(es), want parts", len(parts))
	}
	protocol.Inject(b.c, info.Topic, parts[0]) // the event and the first slots
	bInfo, err := b.c.Group(ctx, g)
	must(t, err)
	if slices.Contains(bInfo.Members, x.id) {
		t.Fatal("precondition: b did not apply x's removal from the first part")
	}
	if _, f, cur := protocol.EpochInfo(b.c, g); cur != (epoch.ID{}) || len(f) != 1 {
		t.Fatalf("precondition: b holds R's seed from the first part (epoch %x, frontier %d); the test needs its slot in a later part", cur[:4], len(f))
	}

	n := len(rec.stop())
	rec.start()
	must(t, b.c.AddMembers(ctx, g, d.id))
	for _, env := range rec.stop()[n:] {
		if env.Topic != info.Topic {
			continue
		}
		if f := protocol.OpenFrameForTest(kept, g, env.Topic, env.Payload); f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("the removed x opens b's publish after its removal (key block %v, message type %#x, %d membership events, %d bytes)",
				f.Block != nil, f.Type, len(f.Events), len(f.Body))
		}
	}
}
