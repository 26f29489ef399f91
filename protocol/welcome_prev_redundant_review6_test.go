package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecWelcomeEntryPrevRedundant (review 6, checkJoinPrev): review 5's Welcome prev
// equivocation with a prev naming only events of the log that prevAgrees accepts: x's
// Welcome gives a's removal of y (whose own prev is a's earlier removal of z) the prev
// {creation, removal of z} — the event's own prev and an ancestor of it. prevAgrees finds
// both in the event's causal past and our frontier covered, so b took the entry; its
// frontier was the honest one (the ancestor superseded already), but the prev it recorded
// for the removal was x's, and stayed so after the removal's key block came (SeenPrev
// completes the frontier, not the recorded prev): b then refuses every honest Welcome naming
// the removal with its own prev, and its own Welcomes naming it carry x's prev, which every
// member that applied the block refuses. b must not take the entry before the block, and
// after it must record the block's prev (a's).
func TestSecWelcomeEntryPrevRedundant(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 193}, 5)
	a, b, x, y, z := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3], tn.peers[4]
	tn.connect(a, b, x, y, z)
	g, err := a.c.CreateGroup(ctx, "welcome-prev-redundant", "", b.id, x.id, y.id, z.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, x, y, z)
	_, fC, _ := protocol.EpochInfo(b.c, g)
	must(t, a.c.RemoveMembers(ctx, g, z.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b, x, y)
	_, f0, _ := protocol.EpochInfo(b.c, g)
	if len(fC) != 1 || len(f0) != 1 || f0[0] == fC[0] {
		t.Fatalf("set-up: frontiers %d then %d events", len(fC), len(f0))
	}
	info, err := a.c.Group(ctx, g)
	must(t, err)
	tpG := newTap(t, tn.net, info.Topic)
	tpIn := tapInbox(t, tn, b)
	b.pause()
	must(t, a.c.RemoveMembers(ctx, g, y.id))
	var fx []epoch.ID
	tn.waitFor("x applies the removal", func() bool {
		_, fx, _ = protocol.EpochInfo(x.c, g)
		return !slices.Equal(fx, f0)
	})
	if len(fx) != 1 {
		t.Fatalf("x's frontier %d events", len(fx))
	}
	X := fx[0]
	j, err := protocol.FrontierJoinForTest(x.c, g)
	must(t, err)
	if len(j) != 1 || j[0].Event != X || !slices.Equal(j[0].Prev, epoch.Frontier(f0)) {
		t.Fatalf("x's join: %+v", j)
	}
	prev, err := epoch.NewFrontier(fC[0], f0[0])
	must(t, err)
	j[0].Prev = prev
	nIn := len(tpIn.all())
	must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, j))
	tn.waitFor("x's Welcome published", func() bool { return len(tpIn.all()) > nIn })
	time.Sleep(20 * time.Millisecond)
	_, fb0, eb0 := protocol.EpochInfo(b.c, g)
	for _, e := range tpIn.all()[nIn:] { // the Welcome first (b missed the block live)
		protocol.Inject(b.c, e.Topic, e.Payload)
	}
	if _, fb, eb := protocol.EpochInfo(b.c, g); !slices.Equal(fb, fb0) || eb != eb0 {
		t.Errorf("b took x's Welcome entry for the removal with prev {creation, its own prev}: frontier %d → %d events, epoch changed %v",
			len(fb0), len(fb), eb != eb0)
	}
	for _, e := range tpG.all() { // then the removal's publish: event and key block
		protocol.Inject(b.c, e.Topic, e.Payload)
	}
	if _, fb, _ := protocol.EpochInfo(b.c, g); !slices.Equal(fb, fx) {
		t.Fatalf("b's frontier after the removal's block: %d events", len(fb))
	}
	if pa, pb := protocol.KeyEventPrevForTest(a.c, g, X), protocol.KeyEventPrevForTest(b.c, g, X); !pa.Equal(pb) {
		t.Errorf("after the removal's block b records its prev as %d ids, a (its author) %d: x's word stayed", len(pb), len(pa))
	}

	b.dev.Run = chorustest.Start(context.Background(), b.c, b.dev.Events) // b's Run again
	b.refresh()
	tn.settle()
	mustSend(t, a, g, "from a")
	mustSend(t, b, g, "from b")
	waitTexts(t, tn, g, []string{"from a"}, b)
	waitTexts(t, tn, g, []string{"from b"}, a)
}
