package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecWelcomeCatchUpNoOp (review 6, the Welcome catch-up): a member's Welcome to a
// member that gives it nothing (x re-sends b the join of the frontier b already holds:
// no new event, seed or epoch) moved b's group topic sync point back to the Welcome's
// time, cleared b's junk filter and had b's subscriptions loop sync at once: a fetch of
// everything published on b's whole query set since that time (a Welcome claiming an old
// time: the whole history window), every keyless envelope in it opened again. One
// pairwise message from any member bought that, as often as it liked. Only a Welcome
// that joins us or gives us an epoch we did not have catches up.
func TestSecWelcomeCatchUpNoOp(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 61}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "catch-up", "", b.id, x.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, x)
	info, err := b.c.Group(ctx, g)
	must(t, err)
	tpIn := tapInbox(t, tn, b)
	b.pause()
	time.Sleep(20 * time.Millisecond)

	j, err := protocol.FrontierJoinForTest(x.c, g)
	must(t, err)
	nIn := len(tpIn.all())
	must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, j))
	tn.waitFor("x's Welcome published", func() bool { return len(tpIn.all()) > nIn })

	_, f0, e0 := protocol.EpochInfo(b.c, g)
	last0 := protocol.LastSyncForTest(b.c, info.Topic)
	kept := protocol.JunkProbeForTest(b.c)
	for _, e := range tpIn.all()[nIn:] {
		protocol.Inject(b.c, e.Topic, e.Payload)
	}
	if _, f, e := protocol.EpochInfo(b.c, g); !slices.Equal(f, f0) || e != e0 {
		t.Fatalf("set-up: x's Welcome changed b's frontier (%d → %d events) or epoch", len(f0), len(f))
	}
	if got := protocol.CatchUpForTest(b.c); len(got) > 0 {
		t.Errorf("a Welcome giving b nothing asked for a catch-up of %d topics", len(got))
	}
	if last := protocol.LastSyncForTest(b.c, info.Topic); !last.Equal(last0) {
		t.Errorf("a Welcome giving b nothing moved its sync point back by %v", last0.Sub(last))
	}
	if !kept() {
		t.Error("a Welcome giving b nothing cleared b's junk filter")
	}

	// b still reads the group (the Welcome did no harm besides).
	b.dev.Run = chorustest.Start(context.Background(), b.c, b.dev.Events)
	b.refresh()
	tn.settle()
	mustSend(t, a, g, "after")
	waitTexts(t, tn, g, []string{"after"}, b)
}

// TestSecWelcomeCatchUpNoOpV1 is TestSecWelcomeCatchUpNoOp for key schedule v1: an admin's
// Welcome to a member of the group (its first part: the log b holds, no distribution
// taken) caught up as a join does.
func TestSecWelcomeCatchUpNoOpV1(t *testing.T) {
	ctx := context.Background()
	tn := newV1Net(t, memory.Config{Seed: 62}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "catch-up-v1", "", b.id)
	must(t, err)
	tn.settle()
	mustSend(t, a, g, "before")
	waitTexts(t, tn, g, []string{"before"}, b)
	info, err := b.c.Group(ctx, g)
	must(t, err)
	b.pause()
	time.Sleep(20 * time.Millisecond)

	body := protocol.WelcomeForTest(a.c, g, false)
	last0 := protocol.LastSyncForTest(b.c, info.Topic)
	kept := protocol.JunkProbeForTest(b.c)
	must(t, protocol.HandleWelcomeForTest(b.c, a.id, body))
	if got := protocol.CatchUpForTest(b.c); len(got) > 0 {
		t.Errorf("a Welcome giving b nothing asked for a catch-up of %d topics", len(got))
	}
	if last := protocol.LastSyncForTest(b.c, info.Topic); !last.Equal(last0) {
		t.Errorf("a Welcome giving b nothing moved its sync point back by %v", last0.Sub(last))
	}
	if !kept() {
		t.Error("a Welcome giving b nothing cleared b's junk filter")
	}
}

// TestSecWelcomeEntryPrevAfterRekey (review 6, welid's checkJoinPrev): review 5's Welcome
// prev equivocation for a membership key event whose own prev is a rekey (any membership
// change after a rekey): x's Welcome gives a's removal of y an empty prev. checkJoinPrev
// takes a membership event's entry when its prev names only events of the log and
// prevAgrees accepts it; an empty prev names none, and prevAgrees skips the frontier
// events the log cannot place (the rekey), so b applied the removal beside the rekey it
// supersedes: a frontier nobody else had, (a) until the removal's block arrived, (c) for
// good if it never did.
func TestSecWelcomeEntryPrevAfterRekey(t *testing.T) {
	for _, tc := range []welcomePrevCase{
		{name: "membership event after a rekey, own prev (control)", honest: true, block: true, rekeyFirst: true},
		{name: "membership event after a rekey, no prev, block later (a)", block: true, rekeyFirst: true},
		{name: "membership event after a rekey, no prev, block never arrives (c)", rekeyFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) { welcomeEntryPrev(t, tc) })
	}
}
