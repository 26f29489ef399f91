package protocol_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestKeyConfirmAmplification (issue 13 security, review 3): a member authoring rekeys
// with a made-up seed in every recipient's slot made every recipient refuse it and heal at
// once: each such block cost the group one rekey per member (at 1000 members, a thousand
// ~114 KB blocks for one), for as long as the author kept publishing them. Bound: a
// member heals at once the first seed it refuses of an author; a repeat of the same
// author is healed at once only by the designated installation (the others wait for its
// rekey, or rekey before they send). Everyone converges and reads each other afterwards.
func TestKeyConfirmAmplification(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 89}, 5)
	a, b, c, d, e := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3], tn.peers[4]
	tn.connect(a, b, c, d, e)
	g, err := a.c.CreateGroup(ctx, "amplify", "", b.id, c.id, d.id, e.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, d, e)
	recipients := []*peer{a, c, d, e}
	count := func() int {
		n := 0
		for _, p := range recipients {
			n += protocol.RekeysForTest(p.c)
		}
		return n
	}
	protocol.SetSlotSeedHookForTest(b.c, func(_ protocol.InstallationID, seed epoch.Seed) epoch.Seed {
		seed[0] ^= 0xff
		return seed
	})
	const rounds = 3
	before := count()
	for i := range rounds {
		must(t, b.c.Rekey(ctx, g))
		tn.settle()
		waitSameEpoch(tn, g, a, c, d, e)
		t.Logf("round %d: %d heals so far", i, count()-before)
	}
	protocol.SetSlotSeedHookForTest(b.c, nil)
	heals := count() - before
	if bound := len(recipients) + rounds - 1; heals > bound {
		t.Errorf("%d rekeys with a made-up seed for everyone cost %d heals, want at most %d (every member once, then one per block)", rounds, heals, bound)
	}
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, d, e)
	for _, p := range []*peer{a, b, e} {
		text := fmt.Sprint(p.name, " after the bad seeds")
		mustSend(t, p, g, text)
		var others []*peer
		for _, q := range tn.peers {
			if q != p {
				others = append(others, q)
			}
		}
		waitTexts(t, tn, g, []string{text}, others...)
	}
}
