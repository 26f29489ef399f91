package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSendEpochDroppedWithItsChains: the epoch a client keeps for its sends (with the
// outer sealer made from it) is dropped when its epoch's chains are: a removed member
// keeps nothing of it (a remaining member's stays while that epoch is live: it opens
// concurrent publishes with it anyway), and a send under a new epoch replaces it.
func TestSendEpochDroppedWithItsChains(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 161}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	g, err := a.c.CreateGroup(ctx, "send-epoch", "", b.id, c.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c)
	mustSend(t, c, g, "from c")
	mustSend(t, a, g, "from a")
	tn.settle()
	_, _, old := protocol.EpochInfo(a.c, g)
	for _, p := range []*peer{a, c} {
		if e, ok := protocol.SendEpochForTest(p.c, g); !ok || e != old {
			t.Fatalf("%s keeps no send epoch after sending (or not the current one)", p.name)
		}
	}
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b)
	if e, ok := protocol.SendEpochForTest(c.c, g); ok {
		t.Errorf("the removed member still keeps its send epoch %x", e[:4])
	}
	mustSend(t, a, g, "after the removal")
	tn.settle()
	if _, _, now := protocol.EpochInfo(a.c, g); now == old {
		t.Fatal("the removal did not change the epoch")
	} else if e, ok := protocol.SendEpochForTest(a.c, g); !ok || e != now {
		t.Errorf("a's send epoch after sending under the new epoch is not the new epoch")
	}
}
