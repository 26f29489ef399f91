package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestLegacyKeyBlockReceived: key blocks of version 2 (SHA-256 slot hints, an older
// version's) and of version 3 (AES-based hints) in one group: the receiver finds its slot
// in each (it is on the author's epoch) and judges each event's coverage with the hints
// of its block's version (no coverage gap: the group is healed, for the receiver and for
// the author, whose own bookkeeping has its block's hints).
func TestLegacyKeyBlockReceived(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 83}, 0)
	admin, rx, others, g := keyEventGroup(t, tn, "hintver", 4)
	ctx := context.Background()
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	tp := newTap(t, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	for i, legacy := range []bool{true, false, true} {
		protocol.SetLegacyBlocksForTest(admin.c, legacy)
		must(t, admin.c.RemoveMembers(ctx, g, others[i].id))
		tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		_, _, want := protocol.EpochInfo(admin.c, g)
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			t.Fatalf("removal %d (version 2 block: %v): receiver not on the admin's epoch", i, legacy)
		}
		for _, p := range []*peer{rx, admin} {
			protocol.ForgetHealthyForTest(p.c, g)
			_, healed, err := protocol.HealthyForTest(p.c, g)
			must(t, err)
			if !healed {
				t.Fatalf("removal %d (version 2 block: %v): %s finds the group unhealed", i, legacy, p.id)
			}
		}
	}
}

// TestLegacyRekeyReceived: rekeys of key blocks of version 2 and 3 (the legacy rekey id, an
// older version's) and of version 4 (an id committing to its prev) in one group: the
// receiver applies each and is on the author's epoch after each (welid: a mixed group
// converges).
func TestLegacyRekeyReceived(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 87}, 0)
	admin, rx, _, g := keyEventGroup(t, tn, "rekeyver", 2)
	ctx := context.Background()
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	tp := newTap(t, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	for i, v := range []int{3, 2, 4, 3, 4} {
		protocol.SetLegacyBlocksForTest(admin.c, v == 2)
		protocol.SetLegacyIDsForTest(admin.c, v == 3)
		must(t, admin.c.Rekey(ctx, g))
		tn.waitFor("the rekey's publish", func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		_, _, want := protocol.EpochInfo(admin.c, g)
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			t.Fatalf("rekey %d (block version %d): receiver not on the admin's epoch", i, v)
		}
	}
}
