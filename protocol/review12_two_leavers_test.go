package protocol_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// restoreAndRekey puts p's store copied at backup back (p reads nothing in between, as
// newLeaverRekey's x), then p rekeys with prev = {h}: it returns the rekey's id, its
// publishes on topic and p's live epochs after it.
func restoreAndRekey(t *testing.T, tn *testNet, rec *pubRecorder, p *peer, backup string, g protocol.GroupID, topic string, h epoch.ID) (epoch.ID, [][]byte, []epoch.Epoch) {
	t.Helper()
	p.stop()
	stale, _ := filepath.Glob(p.path + "*")
	for _, f := range stale {
		must(t, os.Remove(f))
	}
	copyStore(t, backup, filepath.Dir(p.path))
	tn.net.SetOffline(p.name, true)
	p.start(false)
	p.pause()
	tn.net.SetOffline(p.name, false)
	protocol.SetRekeyPrevHookForTest(p.c, func(epoch.Frontier) epoch.Frontier { return epoch.Frontier{h} })
	n := len(rec.stop())
	rec.start()
	must(t, p.c.Rekey(context.Background(), g))
	_, f, _ := protocol.EpochInfo(p.c, g)
	if len(f) != 1 || f[0] == h {
		t.Fatalf("precondition: %s did not rekey (frontier %s)", p.name, shortFrontier(f))
	}
	live := protocol.LiveEpochsForTest(p.c, g)
	var pubs [][]byte
	for _, env := range newPubs(rec, n) {
		if fr := protocol.OpenFrameForTest(live, g, env.Topic, env.Payload); env.Topic == topic && fr.Block != nil && fr.Block.Event == f[0] {
			pubs = append(pubs, env.Payload)
		}
	}
	if len(pubs) == 0 {
		t.Fatalf("precondition: %s's rekey not recorded", p.name)
	}
	return f[0], pubs, live
}

// TestReview12TwoLeaversRollBack (review 12): retraction forgets a retracted rekey's
// unseen prev only when it is held on that rekey's author's word (epoch.Schedule.Retract);
// with two departed authors naming the same heal, the second retraction finds the heal
// held on the first's word and leaves it known as superseded. x and y leave (des heals
// after each: H1, prev {F0}, then H, prev {H1}); each, from its database before its
// leave, rekeys with prev {H} (RX, RY). late, handed RX and RY before the leaves (both
// members there: frontier {F0, RX, RY}; H held on the word of the author of the one with
// the smaller id, say RX, handed first), then the leaves, H1 and H: H1 gives {H1, RX, RY};
// at H, RX is retracted (H named by RY: kept), then RY (H held by x: kept superseded);
// H, applied while superseded, supersedes its prev H1 and does not enter the frontier
// itself. Measured on main: late's frontier is empty, and its next
// send fails ("seeds missing for the current frontier: no key event applied") until
// another member's key event comes. Asserted: late's frontier is {H} after H; late sends,
// and its text is opened by neither x nor y (their live epochs before leaving and after
// their rekeys); the members reach one epoch and read each other.
func TestReview12TwoLeaversRollBack(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 1204, Tap: rec.tap}, 0)
	ms := []*peer{tn.addPersistent("m0"), tn.addPersistent("m1"), tn.addPersistent("m2"), tn.addPersistent("m3")}
	x, y := tn.addPersistent("x"), tn.addPersistent("y")
	tn.connect(append(ms, x, y)...)
	ctx := context.Background()
	slices.SortFunc(ms, func(p, q *peer) int {
		a, b := installationOf(t, p), installationOf(t, q)
		return bytes.Compare(a[:], b[:])
	})
	des, admin, other, late := ms[0], ms[1], ms[2], ms[3]
	g := joinedGroup(t, tn, "two", admin, des, other, late, x, y)
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	_, f0, _ := protocol.EpochInfo(admin.c, g)
	known := append(protocol.LiveEpochsForTest(x.c, g), protocol.LiveEpochsForTest(y.c, g)...) // what x and y hold
	backups := map[*peer]string{}
	for _, p := range []*peer{x, y} {
		p.stop()
		backups[p] = copyStore(t, p.path, t.TempDir())
		p.start(false)
	}
	late.pause()
	des.pause() // des heals once it syncs, after both leaves
	rec.start()
	must(t, x.c.Leave(ctx, g))
	must(t, y.c.Leave(ctx, g))
	tn.settle(admin, other)
	tn.settle(admin, des, other) // des heals (H)
	waitSameEpoch(tn, g, admin, des, other)
	_, fH, _ := protocol.EpochInfo(admin.c, g)
	var leaveHeal [][]byte
	for _, env := range rec.stop() {
		if env.Topic == topic {
			leaveHeal = append(leaveHeal, env.Payload)
		}
	}
	if len(fH) != 1 || slices.Equal(fH, f0) {
		t.Fatalf("precondition: one heal after both leaves (frontier %s, F0 %s)", shortFrontier(fH), shortFrontier(f0))
	}
	h := fH[0]
	rx, rxPubs, xLive := restoreAndRekey(t, tn, rec, x, backups[x], g, topic, h)
	ry, ryPubs, yLive := restoreAndRekey(t, tn, rec, y, backups[y], g, topic, h)
	known = append(append(known, xLive...), yLive...)

	// The rekey with the smaller id first: it holds H, and it is retracted first (the
	// frontier is walked in id order), so that the second finds H held on another's word.
	first := append(slices.Clone(rxPubs), ryPubs...)
	if bytes.Compare(ry[:], rx[:]) < 0 {
		first = append(slices.Clone(ryPubs), rxPubs...)
	}
	for _, b := range first {
		protocol.Inject(late.c, topic, b)
	}
	if !protocol.AppliedKeyEventForTest(late.c, g, rx) || !protocol.AppliedKeyEventForTest(late.c, g, ry) {
		t.Fatalf("precondition: late (x and y members there) did not apply RX and RY")
	}
	_, fl, _ := protocol.EpochInfo(late.c, g)
	t.Logf("late before the leaves: frontier %s (F0 %s, RX %x, RY %x, H %x)", shortFrontier(fl), shortFrontier(f0), rx[:4], ry[:4], h[:4])
	for _, b := range leaveHeal {
		protocol.Inject(late.c, topic, b)
	}
	for _, p := range []*peer{admin, other} {
		if protocol.AppliedKeyEventForTest(p.c, g, rx) || protocol.AppliedKeyEventForTest(p.c, g, ry) {
			t.Fatalf("precondition: %s applied a departed rekey", p.name)
		}
	}
	_, fl, _ = protocol.EpochInfo(late.c, g)
	t.Logf("late after the leaves and H: frontier %s, RX applied %v, RY applied %v", shortFrontier(fl),
		protocol.AppliedKeyEventForTest(late.c, g, rx), protocol.AppliedKeyEventForTest(late.c, g, ry))
	if !slices.Equal(fl, epoch.Frontier{h}) {
		t.Errorf("after H: late's frontier %s, want the heal's %s", shortFrontier(fl), shortFrontier(epoch.Frontier{h}))
	}
	tn.settle(admin, other, late)
	n := len(rec.stop())
	rec.start()
	mustSend(t, late, g, "from late")
	tn.settle(admin, other, late)
	for _, env := range newPubs(rec, n) {
		if fr := protocol.OpenFrameForTest(known, g, env.Topic, env.Payload); env.Topic == topic && fr.Opened && (fr.Block == nil || fr.Block.Kind != epoch.KindRekey) {
			t.Errorf("a departed installation opens late's publish (key block %v, %d bytes)", fr.Block != nil, len(fr.Body))
		}
	}
	_, fl, _ = protocol.EpochInfo(late.c, g)
	t.Logf("late after sending: frontier %s", shortFrontier(fl))
	waitSameEpoch(tn, g, admin, other, late)
	mustSend(t, other, g, "from other")
	waitTexts(t, tn, g, []string{"from late"}, admin, other)
	waitTexts(t, tn, g, []string{"from other"}, admin, late)
}
