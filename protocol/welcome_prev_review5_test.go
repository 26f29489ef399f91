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

// welcomePrevCase is one way a member's Welcome to a member gives a real key event a prev
// set (TestSecWelcomeEntryPrevEquivocation).
type welcomePrevCase struct {
	name   string
	rekey  bool // the event is a rekey by the Welcome's sender (else a's removal of y)
	honest bool // the entry as its sender's schedule holds it (control)
	longer bool // the event's own prev and a made-up id (else none)
	block  bool // the event's key block reaches the recipient after the Welcome
	legacy bool // the rekey's block is of version 3 (a legacy id: its entry cannot be checked, it waits for the block, which is refused: uncommitted)
	// rekeyFirst: a rekey by a precedes the event, so the frontier the entry's prev leaves
	// out is a rekey, which the log cannot place (TestSecWelcomeEntryPrevAfterRekey).
	rekeyFirst bool
}

// TestSecWelcomeEntryPrevEquivocation (review 5, pre-existing: mergeJoin): a member's
// Welcome to a member (x to b) names a real key event X — a's removal of y, or x's own
// rekey, whose seed x holds, so the seed is right and the key confirmation agrees — with a
// prev set other than the event's own, before b saw X's key block. Applied, b's frontier
// was one nobody else had: (a) until X's block arrived (a membership event's signed prev
// then completed it; a rekey's too), (b) for good where the entry's prev was longer than
// the event's own (the made-up or concurrent id stays superseded), (c) for good where X's
// block never reached b. A rekey's id now commits to its prev (epoch.RekeyID) and a join
// entry carries its author and nonce; a membership event's entry is checked against the
// log as its block is: b refuses the entry, its state unchanged, and still converges
// through the honest paths (X's block, or the group's next key event). The controls (the
// entry as x's schedule holds it) converge too. Nobody but the Welcome's sender is needed:
// it only has to reach b before X's block (b offline and syncing, or a race).
func TestSecWelcomeEntryPrevEquivocation(t *testing.T) {
	for _, tc := range []welcomePrevCase{
		{name: "membership event, own prev (control)", honest: true, block: true},
		{name: "membership event, no prev (a)", block: true},
		{name: "membership event, longer prev (b)", longer: true, block: true},
		{name: "rekey, own prev (control)", rekey: true, honest: true, block: true},
		{name: "rekey, no prev, block later (a)", rekey: true, block: true},
		{name: "rekey, longer prev (b)", rekey: true, longer: true, block: true},
		{name: "rekey, no prev, block never arrives (c)", rekey: true},
		{name: "rekey, longer prev, block never arrives (c)", rekey: true, longer: true},
		{name: "legacy rekey, own prev: waits for its block (refused)", rekey: true, honest: true, block: true, legacy: true},
		{name: "legacy rekey, no prev", rekey: true, block: true, legacy: true},
	} {
		t.Run(tc.name, func(t *testing.T) { welcomeEntryPrev(t, tc) })
	}
}

func welcomeEntryPrev(t *testing.T, tc welcomePrevCase) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 191}, 4)
	a, b, x, y := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, x, y)
	g, err := a.c.CreateGroup(ctx, "welcome-prev", "", b.id, x.id, y.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, x, y)
	if tc.rekeyFirst {
		must(t, a.c.Rekey(ctx, g))
		tn.settle()
		waitSameEpoch(tn, g, a, b, x, y)
	}
	_, f0, _ := protocol.EpochInfo(b.c, g)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	tpG := newTap(t, tn.net, info.Topic)
	tpIn := tapInbox(t, tn, b)
	b.pause()
	if tc.rekey {
		protocol.SetLegacyIDsForTest(x.c, tc.legacy)
		must(t, x.c.Rekey(ctx, g))
	} else {
		must(t, a.c.RemoveMembers(ctx, g, y.id))
	}
	var fx []epoch.ID
	tn.waitFor("x applies the key event", func() bool {
		_, fx, _ = protocol.EpochInfo(x.c, g)
		return !slices.Equal(fx, f0)
	})
	if len(fx) != 1 {
		t.Fatalf("x's frontier %d events", len(fx))
	}
	X := fx[0]
	j, err := protocol.FrontierJoinForTest(x.c, g)
	must(t, err)
	if len(j) != 1 || j[0].Event != X || j[0].Kind != epoch.SlotSeed || (j[0].Rekey != nil) != (tc.rekey && !tc.legacy) {
		t.Fatalf("x's join: %+v", j)
	}
	if !slices.Equal(j[0].Prev, epoch.Frontier(f0)) {
		t.Fatalf("x's entry prev %d ids, the event's own %d", len(j[0].Prev), len(f0))
	}
	switch {
	case tc.honest:
	case tc.longer:
		prev, err := epoch.NewFrontier(append(slices.Clone(f0), epoch.ID{0x5e, 0x1f})...)
		must(t, err)
		j[0].Prev = prev
	default:
		j[0].Prev = nil
	}
	nIn := len(tpIn.all())
	must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, j))
	tn.waitFor("x's Welcome published", func() bool { return len(tpIn.all()) > nIn })
	time.Sleep(20 * time.Millisecond)
	_, fb0, eb0 := protocol.EpochInfo(b.c, g)
	for _, e := range tpIn.all()[nIn:] { // the Welcome first (b missed the block live)
		protocol.Inject(b.c, e.Topic, e.Payload)
	}
	if _, fb, eb := protocol.EpochInfo(b.c, g); (!tc.honest || tc.legacy) && (!slices.Equal(fb, fb0) || eb != eb0) {
		t.Fatalf("b took x's Welcome entry for %s with prev %d ids (its own %d): frontier %d → %d events, epoch changed %v",
			X, len(j[0].Prev), len(f0), len(fb0), len(fb), eb != eb0)
	}
	// cycle12: an honest membership event's entry is exact (its field 103 commits to its
	// prev), so it is taken at once — after a rekey too, where prevShown could not place the
	// rekey its prev names and the Welcome waited for the block — and its block's SeenPrev
	// then changes nothing.
	exact := tc.honest && !tc.rekey
	_, fw, ew := protocol.EpochInfo(b.c, g)
	if _, _, ex := protocol.EpochInfo(x.c, g); exact && (!protocol.AppliedKeyEventForTest(b.c, g, X) || !slices.Equal(fw, []epoch.ID{X}) || ew != ex) {
		t.Fatalf("b did not take x's honest entry for the membership event at once: frontier %d events, applied %v",
			len(fw), protocol.AppliedKeyEventForTest(b.c, g, X))
	}
	if tc.block {
		for _, e := range tpG.all() { // then the key event's publish: event and key block
			protocol.Inject(b.c, e.Topic, e.Payload)
		}
		if _, fbb, ebb := protocol.EpochInfo(b.c, g); exact && (!slices.Equal(fbb, fw) || ebb != ew) {
			t.Fatalf("the event's key block (SeenPrev) changed b's frontier after its exact entry: %d → %d events", len(fw), len(fbb))
		}
	}
	_, fa, _ := protocol.EpochInfo(a.c, g)
	_, fb, _ := protocol.EpochInfo(b.c, g)
	b.dev.Run = chorustest.Start(context.Background(), b.c, b.dev.Events) // b's Run again
	b.refresh()
	tn.settle()
	_, err = a.c.Send(ctx, g, protocol.Text("from a"))
	must(t, err)
	_, err = b.c.Send(ctx, g, protocol.Text("from b"))
	must(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for a.texts(g)["from b"] == 0 || b.texts(g)["from a"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a read %v, b read %v: b's frontier after x's Welcome (event %s, prev %d ids, its own %d) has %d events, the group's %d: the group cannot read b",
				a.texts(g), b.texts(g), X, len(j[0].Prev), len(f0), len(fb), len(fa))
		}
		tn.settle()
	}
}
