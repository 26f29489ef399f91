package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestHealOverdueDesignatedAway: a member leaves while the designated installation (the
// smallest id) is away. Its heal never comes, and before healDue nobody else rekeyed: the
// group stayed on the unhealed epoch until someone sent (a send heals first, so nothing
// leaked, but a member reading, not writing, was left on it). Asserted: with a heal grace
// of 300 ms, the next candidate heals — the two remaining members reach one epoch on a
// rekey other than the leave within 5 s, and it costs them one rekey, not one each.
func TestHealOverdueDesignatedAway(t *testing.T) {
	tn := newNetWith(t, memory.Config{Seed: 1203}, 4, protocol.WithEpochs(true), protocol.WithHealGrace(300*time.Millisecond))
	ps := byInstallation(t, tn.peers)
	des, admin, other, x := ps[0], ps[1], ps[2], ps[3]
	tn.connect(ps...)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "away", "", des.id, other.id, x.id)
	must(t, err)
	waitSameEpoch(tn, g, admin, des, other, x)
	des.pause() // the designated installation is away
	before := rekeysOf(admin, other)
	must(t, x.c.Leave(ctx, g))
	tn.waitNotMember("the leave applied", g, x, admin, other)
	_, left, _ := protocol.EpochInfo(admin.c, g)
	waitFor(t, 5*time.Second, "admin and other healed without the designated installation", func() bool {
		_, fa, ea := protocol.EpochInfo(admin.c, g)
		_, fo, eo := protocol.EpochInfo(other.c, g)
		return ea == eo && slices.Equal(fa, fo) && !slices.Equal(fa, left) && rekeysOf(admin, other) > before
	})
	time.Sleep(700 * time.Millisecond) // past the second candidate's turn
	if n := rekeysOf(admin, other) - before; n != 1 {
		t.Errorf("the overdue heal cost %d rekeys, want 1 (the first candidate's reaches the second before its turn)", n)
	}
}
