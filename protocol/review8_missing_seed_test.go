package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// lateSlot is a group of 8 (a, b, five others, x) where a removed x with a key block in
// parts (frame limit 1200) and b, away, was handed only the first part: b applied the
// removal R and lacks its seed (its slot is in a later part). x's epochs before R are in
// kept.
type lateSlot struct {
	tn      *testNet
	rec     *pubRecorder
	g       protocol.GroupID
	topic   string
	a, b, x *peer
	rest    []*peer
	kept    []epoch.Epoch
}

// newLateSlot builds a lateSlot; ok is false when b's slot came in the first part (slots
// are ordered by hint: the test tries again). pauseX has x ignore its removal.
func newLateSlot(t *testing.T, seed int64, pauseX bool) (*lateSlot, bool) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: seed, Tap: rec.tap}, 8)
	ls := &lateSlot{tn: tn, rec: rec, a: tn.peers[0], b: tn.peers[1], x: tn.peers[7], rest: tn.peers[2:7]}
	a, b, x := ls.a, ls.b, ls.x
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "late slot", "", append(ids(b, x), ids(ls.rest...)...)...)
	must(t, err)
	members := append([]*peer{a, b, x}, ls.rest...)
	tn.waitFor("joined", func() bool {
		for _, p := range members[1:] {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle(members...)
	waitSameEpoch(tn, g, members...)
	ls.g, ls.kept = g, protocol.LiveEpochsForTest(x.c, g)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	ls.topic = info.Topic

	if pauseX {
		x.pause()
	}
	b.pause() // b gets R's parts only as the test hands them over
	protocol.SetFrameLimit(a.c, 1200)
	rec.start()
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	var parts [][]byte
	for _, env := range rec.stop() {
		if env.Topic == info.Topic {
			parts = append(parts, env.Payload)
		}
	}
	if len(parts) < 2 {
		t.Fatalf("precondition: the removal's block came in %d publish(es), want parts", len(parts))
	}
	protocol.Inject(b.c, info.Topic, parts[0]) // the event and the first slots
	bInfo, err := b.c.Group(ctx, g)
	must(t, err)
	if slices.Contains(bInfo.Members, x.id) {
		t.Fatal("precondition: b did not apply x's removal from the first part")
	}
	if _, f, cur := protocol.EpochInfo(b.c, g); cur != (epoch.ID{}) || len(f) != 1 {
		t.Logf("b's slot is in the first part (epoch %x, frontier %d): again", cur[:4], len(f))
		return nil, false
	}
	return ls, true
}

// lateSlotFor is newLateSlot, tried until b's slot is in a later part.
func lateSlotFor(t *testing.T, seed int64, pauseX bool) *lateSlot {
	for i := range 12 {
		if ls, ok := newLateSlot(t, seed+int64(i), pauseX); ok {
			return ls
		}
	}
	t.Fatal("precondition: b's slot was in the first part of every removal")
	return nil
}

// newPubs returns what the recorder recorded since it held n publishes.
func newPubs(rec *pubRecorder, n int) []transport.Envelope { return rec.stop()[n:] }

// TestReview8KeyEventSealedUnderOldEpoch (review 8): an admin b that applied a removal R of
// x but does not hold R's seed yet — R's key block came in several parts (a large group)
// and the part with b's slot is late — authors an add. prepareV2 let a key event be sent
// without a heal first when the epoch is unhealed only by missing seeds ("no departed
// installation can compute it"), and then sealed it under live[len(live)-1], since the
// current epoch cannot be computed: that is the epoch before R, which the removed x
// holds. x opened the add's publish: the add event (who is added, by whom, their device
// lists) and its key block header.
func TestReview8KeyEventSealedUnderOldEpoch(t *testing.T) {
	ls := lateSlotFor(t, 804, false)
	ctx := context.Background()
	d := ls.tn.add("d")
	ls.tn.connect(ls.b, d)
	n := len(ls.rec.stop())
	ls.rec.start()
	must(t, ls.b.c.AddMembers(ctx, ls.g, d.id))
	for _, env := range newPubs(ls.rec, n) {
		if env.Topic != ls.topic {
			continue
		}
		if f := protocol.OpenFrameForTest(ls.kept, ls.g, env.Topic, env.Payload); f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("the removed x opens b's publish after its removal (key block %v, message type %#x, %d membership events, %d bytes)",
				f.Block != nil, f.Type, len(f.Events), len(f.Body))
		}
	}
}

// TestReview8RemovedTakesOverEpoch (review 8): as in TestReview8KeyEventSealedUnderOldEpoch,
// b applied the removal R of x from the first part of R's key block and lacks R's seed;
// b sends a text, so it heals first with a rekey H sealed under its newest live epoch, the
// one before R, which the removed x holds: x reads H's id from its frame. x (a client
// that ignores its removal: here it reads nothing from before R on) then publishes an
// ordinary rekey with prev = {H}. The authority rule refused a departed author's rekey
// only when its prev named the author's removal, and H is a rekey, so every member
// applied it: their frontier was x's rekey alone, an epoch x computed. Since auth9 the
// rule looks at the rekey's causal past (H's membership heads hold R): every member
// refuses it (asserted: frontier and epoch unchanged, not applied, no heal).
func TestReview8RemovedTakesOverEpoch(t *testing.T) {
	ls := lateSlotFor(t, 805, true)
	ctx := context.Background()
	a, b, x, g := ls.a, ls.b, ls.x, ls.g
	stay := append([]*peer{a}, ls.rest...)
	ls.tn.settle(stay...)
	waitSameEpoch(ls.tn, g, stay...)

	n := len(ls.rec.stop())
	ls.rec.start()
	mustSend(t, b, g, "from b")
	var heal epoch.ID
	for _, env := range newPubs(ls.rec, n) {
		if f := protocol.OpenFrameForTest(ls.kept, g, env.Topic, env.Payload); env.Topic == ls.topic && f.Block != nil && f.Block.Kind == epoch.KindRekey {
			heal = f.Block.Event
		}
	}
	waitTexts(t, ls.tn, g, []string{"from b"}, stay...)
	if _, f, _ := protocol.EpochInfo(a.c, g); len(f) != 1 || f[0] != heal {
		t.Fatalf("precondition: x did not read the id of b's heal, the members' frontier (read %x, frontier %x)", heal[:4], f)
	}

	// The designated installation (smallest id), which would heal at once, is away.
	order := slices.Clone(append([]*peer{b}, stay...))
	slices.SortFunc(order, func(p, q *peer) int {
		pi, qi := installationOf(t, p), installationOf(t, q)
		return bytes.Compare(pi[:], qi[:])
	})
	if order[0] != b {
		order[0].pause()
	}
	var up []*peer
	for _, p := range stay {
		if p != order[0] {
			up = append(up, p)
		}
	}
	_, f0, e0 := protocol.EpochInfo(up[0].c, g)
	before := rekeysOf(up...)
	protocol.SetRekeyPrevHookForTest(x.c, func(epoch.Frontier) epoch.Frontier { return epoch.Frontier{heal} })
	must(t, x.c.Rekey(ctx, g))
	ls.tn.settle(up...)
	_, fx, ex := protocol.EpochInfo(x.c, g)
	if len(fx) != 1 || fx[0] == heal {
		t.Fatalf("precondition: x did not rekey after b's heal (x's frontier %x)", fx)
	}
	// Authority (spec "Authority"): b had applied x's removal R before its heal (b's
	// membership heads), so R is in the causal past of x's rekey naming it: every member
	// refuses it, frontier and epoch unchanged, no heal for it.
	for _, p := range up {
		if protocol.AppliedKeyEventForTest(p.c, g, fx[0]) {
			t.Errorf("%s applied the rekey the removed x authored after b's heal", p.name)
		}
		if _, f, e := protocol.EpochInfo(p.c, g); !slices.Equal(f, f0) || e != e0 || e == ex {
			t.Errorf("%s: frontier %x epoch %x after x's rekey, want %x %x", p.name, f, e[:4], f0, e0[:4])
		}
	}
	if n := rekeysOf(up...) - before; n != 0 {
		t.Errorf("the removed x's rekey cost the members %d rekeys, want none", n)
	}
	// What must hold: nothing but a heal is sealed under an epoch x computes.
	xs := protocol.LiveEpochsForTest(x.c, g)
	n = len(ls.rec.stop())
	ls.rec.start()
	mustSend(t, up[0], g, "after x's rekey")
	waitTexts(t, ls.tn, g, []string{"after x's rekey"}, up[1:]...)
	for _, env := range newPubs(ls.rec, n) {
		if f := protocol.OpenFrameForTest(xs, g, env.Topic, env.Payload); env.Topic == ls.topic && f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("the removed x opens a member's publish after its rekey (key block %v, message type %#x, %d bytes)", f.Block != nil, f.Type, len(f.Body))
		}
	}
}
