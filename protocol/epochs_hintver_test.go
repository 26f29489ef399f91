package protocol_test

import (
	"context"
	"fmt"
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
	tp, seen := tapPaused(t, tn, admin, rx, g)
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

// TestLegacyRekeyReceived: a rekey of a key block of version 4 (an id committing to its
// prev) is applied, one of version 3 or 2 after it (the legacy rekey id, an older
// version's, committing to no prev) is refused (uncommitted, spec "Frontier": its id could
// close a cycle of prev): the receiver's epoch unchanged, the event not applied. Before
// cycle12 each was applied (welid: a mixed group converged); now the author of a legacy
// rekey is on an epoch of its own for the receivers (spec "Versions").
func TestLegacyRekeyReceived(t *testing.T) {
	for _, v := range []int{3, 2} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			tn := newEpochNet(t, memory.Config{Seed: 87}, 0)
			admin, rx, _, g := keyEventGroup(t, tn, "rekeyver", 2)
			ctx := context.Background()
			info, err := admin.c.Group(ctx, g)
			must(t, err)
			tp := newTap(t, tn.net, info.Topic)
			rx.pause()
			seen := len(tp.all())
			for i, legacy := range []bool{false, true} {
				protocol.SetLegacyBlocksForTest(admin.c, legacy && v == 2)
				protocol.SetLegacyIDsForTest(admin.c, legacy && v == 3)
				_, _, before := protocol.EpochInfo(rx.c, g)
				must(t, admin.c.Rekey(ctx, g))
				tn.waitFor("the rekey's publish", func() bool { return len(tp.all()) > seen })
				time.Sleep(20 * time.Millisecond)
				envs := tp.all()[seen:]
				seen += len(envs)
				for _, e := range envs {
					protocol.Inject(rx.c, e.Topic, e.Payload)
				}
				_, fa, want := protocol.EpochInfo(admin.c, g)
				_, _, got := protocol.EpochInfo(rx.c, g)
				switch {
				case !legacy && got != want:
					t.Fatalf("rekey %d (block version 4): receiver not on the admin's epoch", i)
				case legacy && (got != before || protocol.AppliedKeyEventForTest(rx.c, g, fa[0])):
					t.Fatalf("rekey %d (block version %d, uncommitted): the receiver applied it", i, v)
				}
			}
		})
	}
}
