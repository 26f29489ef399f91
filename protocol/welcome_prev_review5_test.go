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

// TestSecWelcomeEntryPrevEquivocation (review 5, pre-existing: mergeJoin): a member's
// Welcome to a member (x to b) names a real key event X — a's removal of y, whose seed x
// holds from its slot, so the seed is right and the key confirmation agrees — with a
// prev set other than the event's own (none), before b saw X's key block; the block then
// arrives and is a duplicate (ErrDuplicate: nothing compares its prev with the one the
// Welcome gave). b's frontier keeps the events X superseded: b reads the group (the
// join's epoch stays live) but the group cannot read b, and nothing heals it. The control
// (the entry with X's own prev) converges. Nobody but the Welcome's sender is needed: it
// only has to reach b before X's block (b offline and syncing, or a race).
func TestSecWelcomeEntryPrevEquivocation(t *testing.T) {
	for _, honest := range []bool{true, false} {
		name := "made-up prev"
		if honest {
			name = "the event's own prev (control)"
		}
		t.Run(name, func(t *testing.T) { welcomeEntryPrev(t, honest) })
	}
}

func welcomeEntryPrev(t *testing.T, honest bool) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 191}, 4)
	a, b, x, y := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, x, y)
	g, err := a.c.CreateGroup(ctx, "welcome-prev", "", b.id, x.id, y.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, x, y)
	_, f0, _ := protocol.EpochInfo(b.c, g)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	tpG := newTap(t, tn.net, info.Topic)
	tpIn := tapInbox(t, tn, b)
	b.pause()
	must(t, a.c.RemoveMembers(ctx, g, y.id))
	var fx []epoch.ID
	tn.waitFor("x applies the removal's key event", func() bool {
		_, fx, _ = protocol.EpochInfo(x.c, g)
		return !slices.Equal(fx, f0)
	})
	if len(fx) != 1 {
		t.Fatalf("x's frontier %d events", len(fx))
	}
	X := fx[0]
	seed, ok := protocol.KeySeedForTest(x.c, g, X)
	if !ok {
		t.Fatal("x holds no seed for the removal's event")
	}
	nIn := len(tpIn.all())
	j := epoch.Join{{Event: X, Kind: epoch.SlotSeed, Value: [epoch.IDSize]byte(seed[:])}}
	if honest {
		j[0].Prev = epoch.Frontier(f0)
	}
	must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, j))
	tn.waitFor("x's Welcome published", func() bool { return len(tpIn.all()) > nIn })
	time.Sleep(20 * time.Millisecond)
	for _, e := range tpIn.all()[nIn:] { // the Welcome first (b missed the block live)
		protocol.Inject(b.c, e.Topic, e.Payload)
	}
	for _, e := range tpG.all() { // then the removal's publish: event and key block
		protocol.Inject(b.c, e.Topic, e.Payload)
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
			t.Fatalf("a read %v, b read %v: b applied x's Welcome entry (event %s, its seed right, prev %d ids) and kept that prev when the event's key block (prev %d ids) arrived; its frontier (%d events) is not the group's (%d), and the group cannot read its messages",
				a.texts(g), b.texts(g), X, len(j[0].Prev), len(f0), len(fb), len(fa))
		}
		tn.settle()
	}
}
