package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
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
// openable. Each of its rekeys costs the group one healing rekey (its key block only since
// fix5b: TestDepartedRekeyWithSlotsNoWelcomes). A known limit (spec › Known
// limits); the test asserts that the cost stays at one heal per rekey of x's and that x
// opens none of the members' publishes meanwhile (their texts, sent after a heal).
func TestReview8RemovedRekeyChain(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 801, Tap: rec.tap}, 4)
	a, b, c, x := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, x)
	ctx := context.Background()
	g := joinedGroup(t, tn, "chain", a, b, c, x)
	x.pause() // x reads nothing from now on: it never learns its removal
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle(a, b, c)
	waitSameEpoch(tn, g, a, b, c)
	if info, err := a.c.Group(ctx, g); err != nil || slices.Contains(info.Members, x.id) {
		t.Fatalf("precondition: x still a member at a (%v)", err)
	}
	info, err := a.c.Group(ctx, g)
	must(t, err)
	before := rekeysOf(a, b, c)
	rec.start()
	var xs []epoch.Epoch // every epoch x held after its removal
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
		xs = append(xs, protocol.LiveEpochsForTest(x.c, g)...)
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
	// Known limit (spec › Known limits): every such rekey is applied and costs one heal. What
	// must hold: the group pays no more than one heal per rekey of x's, and x reads nothing
	// the members send (only heals' key blocks open under the epochs x holds).
	if cost > rounds || applied > rounds {
		t.Errorf("a removed installation's %d rekeys were applied %d times and cost the group %d rekeys, want at most one each", rounds, applied, cost)
	}
	for _, env := range rec.stop() {
		if env.Topic != info.Topic {
			continue
		}
		if f := protocol.OpenFrameForTest(xs, g, env.Topic, env.Payload); f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("the removed x opens a member's publish (key block %v, message type %#x, %d bytes)", f.Block != nil, f.Type, len(f.Body))
		}
	}
	if len(xs) == 0 {
		t.Fatal("precondition: x holds no epoch")
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

// TestReview8DepartedRekeyWelcomesAll (review 8): the spec prices a departed
// installation's rekey (replayed, or authored concurrently with its removal) at "one
// healing rekey each" ("Authority"). The heal is more: the departed author's event
// counts as reaching no member (coverage Departed), so every member is a coverage gap
// and the heal sends each of them a Welcome v2 carrying the group's event log and every
// member's device list (rekeyWelcomeV2) — O(N) pairwise publishes of O(N) bytes each
// (≈ 570 KiB a Welcome at 1000 members), for one small block of the departed
// installation's. Measured here with 8 members: one injected block of the removed x.
func TestReview8DepartedRekeyWelcomesAll(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 803, Tap: rec.tap}, 9)
	a, x := tn.peers[0], tn.peers[8]
	stay := tn.peers[:8]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g := joinedGroup(t, tn, "welcomes", a, tn.peers[1:]...)
	forged := protocol.ForgedRekeyForTest(x.c, g, 1)
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle(stay...)
	waitSameEpoch(tn, g, stay...)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	if slices.Contains(info.Members, x.id) {
		t.Fatal("precondition: x still a member")
	}
	before := rekeysOf(stay...)
	rec.start()
	for _, p := range stay {
		protocol.Inject(p.c, info.Topic, forged)
	}
	tn.settle(stay...)
	mustSend(t, a, g, "after the block")
	waitTexts(t, tn, g, []string{"after the block"}, stay...)
	waitSameEpoch(tn, g, stay...)
	sent := rec.stop()
	var group, pairwise, pairBytes int
	for _, env := range sent {
		if env.Topic == info.Topic {
			group++
		} else {
			pairwise++
			pairBytes += len(env.Payload)
		}
	}
	heals := rekeysOf(stay...) - before
	t.Logf("one block of the removed x: %d healing rekeys, %d publishes on the group topic (the text included), %d pairwise publishes (%d B)", heals, group, pairwise, pairBytes)
	if heals != 1 {
		t.Fatalf("precondition: %d heals, want 1", heals)
	}
	if pairwise > 0 {
		t.Errorf("the heal of one departed installation's block sent %d pairwise Welcomes (%d B) to members that had all applied the block (and open the heal under their live epoch), on top of its key block", pairwise, pairBytes)
	}
}
