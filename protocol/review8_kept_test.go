package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview8RemovedRekeyChain (review 8): a removed installation that never processes
// its removal (a malicious client ignores it; here: x stops reading the network) keeps
// authoring ordinary rekeys with its unmodified client. Its first rekey (prev = its
// frontier before the removal) is applied as "concurrent with the removal" (spec
// "Authority"), with the seed it gave every member in its slots. That seed becomes a kept
// seed, so x's next rekey — sealed under epoch({its previous rekey}), prev = its previous
// rekey, which is no removal — opens and is applied too, and so on for ever: the spec
// bounds what a departed installation costs by the window of epochs it held ("for as long
// as that epoch stays openable (live, or derivable from the last 6 kept seeds)";
// TestSecDepartedRekeyReplay, bound 8 for 24 blocks), but x makes its own epochs
// openable. Each of its rekeys costs the group one healing rekey (with a Welcome to every
// member: the departed author's event reaches no one).
func TestReview8RemovedRekeyChain(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 801}, 4)
	a, b, c, x := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, x)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "chain", "", b.id, c.id, x.id)
	must(t, err)
	tn.waitFor("joined", func() bool {
		for _, p := range []*peer{b, c, x} {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, a, b, c, x)
	x.pause() // x reads nothing from now on: it never learns its removal
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle(a, b, c)
	waitSameEpoch(tn, g, a, b, c)
	if info, err := a.c.Group(ctx, g); err != nil || slices.Contains(info.Members, x.id) {
		t.Fatalf("precondition: x still a member at a (%v)", err)
	}
	before := rekeysOf(a, b, c)
	pubs := func() (n, bytes int64) {
		for _, p := range []*peer{a, b, c} {
			st := p.node.Stats()
			n, bytes = n+st.Publishes, bytes+st.Bytes
		}
		return
	}
	n0, b0 := pubs()
	const rounds = 12
	applied := 0
	for i := range rounds {
		_, f0, _ := protocol.EpochInfo(a.c, g)
		if err := x.c.Rekey(ctx, g); err != nil {
			t.Fatalf("round %d: x's rekey: %v", i, err)
		}
		tn.settle(a, b, c)
		_, f1, _ := protocol.EpochInfo(a.c, g)
		if !slices.Equal(f0, f1) {
			applied++
		}
		text := fmt.Sprint("after x's rekey ", i)
		mustSend(t, b, g, text)
		waitTexts(t, tn, g, []string{text}, a, c)
		waitSameEpoch(tn, g, a, b, c)
	}
	cost := rekeysOf(a, b, c) - before
	n1, b1 := pubs()
	t.Logf("%d rekeys authored by the removed x after its removal: %d changed a's frontier, the members paid %d rekeys; members published %d times, %d B (%d texts included)",
		rounds, applied, cost, n1-n0, b1-b0, rounds)
	if bound := 8; cost > bound || applied > bound {
		t.Errorf("a removed installation's %d fresh rekeys were applied %d times and cost the group %d rekeys, want at most %d (the window of epochs it held)", rounds, applied, cost, bound)
	}
}

// rekeysOf is how many rekeys the peers authored in all.
func rekeysOf(ps ...*peer) int {
	n := 0
	for _, p := range ps {
		n += protocol.RekeysForTest(p.c)
	}
	return n
}
