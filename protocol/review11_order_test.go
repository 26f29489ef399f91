package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview11RekeyBeforeLeaveConverges (review 11): the order spec "Known limits" (2)
// says converges. x leaves (L), the designated installation heals (H, prev = the frontier
// F0 before L), and x, from its database before L, rekeys with prev = {H} (RX; the
// review 8 takeover). late is handed RX first (x is a member there: RX is applied, H held
// on x's word, late's frontier {F0, RX}), then L, then H (held already: applied, it
// supersedes F0 and leaves late on {RX}). The others refused RX (H's heads hold L) and stay
// on {H}. late holds a departed author's event, heals (HL, prev {RX}); the others apply HL,
// holding RX on late's word, but nothing they apply names H: their frontier is {H, HL},
// late's {HL}. The test asserts the members reach one epoch and read each other's texts.
func TestReview11RekeyBeforeLeaveConverges(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 1101, Tap: rec.tap}, 0)
	ms := []*peer{tn.add("m0"), tn.add("m1"), tn.add("m2"), tn.add("m3")}
	x := tn.addPersistent("x")
	tn.connect(append(ms, x)...)
	ctx := context.Background()
	slices.SortFunc(ms, func(p, q *peer) int {
		a, b := installationOf(t, p), installationOf(t, q)
		return bytes.Compare(a[:], b[:])
	})
	des, admin, other, late := ms[0], ms[1], ms[2], ms[3]
	g, err := admin.c.CreateGroup(ctx, "late", "", des.id, other.id, late.id, x.id)
	must(t, err)
	tn.waitFor("joined", func() bool {
		for _, p := range []*peer{des, other, late, x} {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, admin, des, other, late, x)
	info, err := admin.c.Group(ctx, g)
	must(t, err)

	kept := protocol.LiveEpochsForTest(x.c, g)
	x.stop()
	backup := copyStore(t, x.path, t.TempDir())
	x.start(false)
	late.pause()
	rec.start()
	must(t, x.c.Leave(ctx, g))
	tn.settle(admin, des, other) // the designated installation heals (H)
	waitSameEpoch(tn, g, admin, des, other)
	_, fH, eH := protocol.EpochInfo(admin.c, g)
	var leave, heal [][]byte
	var healID epoch.ID
	for _, env := range rec.stop() {
		if env.Topic != info.Topic {
			continue
		}
		switch f := protocol.OpenFrameForTest(kept, g, env.Topic, env.Payload); {
		case f.Block == nil && len(f.Events) > 0:
			leave = append(leave, env.Payload)
		case f.Block != nil && f.Block.Kind == epoch.KindRekey:
			heal, healID = append(heal, env.Payload), f.Block.Event
		}
	}
	if len(leave) == 0 || len(heal) == 0 || len(fH) != 1 || fH[0] != healID {
		t.Fatalf("precondition: %d leave and %d heal publishes read with x's epochs (heal %x, frontier %x)", len(leave), len(heal), healID[:4], fH)
	}

	x.stop()
	stale, _ := filepath.Glob(x.path + "*")
	for _, f := range stale {
		must(t, os.Remove(f))
	}
	copyStore(t, backup, filepath.Dir(x.path))
	tn.net.SetOffline(x.name, true)
	x.start(false)
	x.pause()
	tn.net.SetOffline(x.name, false)
	protocol.SetRekeyPrevHookForTest(x.c, func(epoch.Frontier) epoch.Frontier { return epoch.Frontier{healID} })
	des.pause()
	n := len(rec.stop())
	rec.start()
	must(t, x.c.Rekey(ctx, g))
	_, fx, _ := protocol.EpochInfo(x.c, g)
	if len(fx) != 1 || fx[0] == healID {
		t.Fatalf("precondition: x did not rekey after H (frontier %x)", fx)
	}
	var rekey [][]byte
	for _, env := range newPubs(rec, n) {
		if f := protocol.OpenFrameForTest(kept, g, env.Topic, env.Payload); env.Topic == info.Topic && f.Block != nil && f.Block.Event == fx[0] {
			rekey = append(rekey, env.Payload)
		}
	}
	if len(rekey) == 0 {
		t.Fatal("precondition: x's rekey not recorded")
	}

	// late: RX first (x a member there), then L, then H.
	for _, p := range rekey {
		protocol.Inject(late.c, info.Topic, p)
	}
	if !protocol.AppliedKeyEventForTest(late.c, g, fx[0]) {
		t.Fatalf("precondition: late (x a member there) did not apply x's rekey")
	}
	for _, p := range leave {
		protocol.Inject(late.c, info.Topic, p)
	}
	for _, p := range heal {
		protocol.Inject(late.c, info.Topic, p)
	}
	for _, p := range []*peer{admin, other} {
		if protocol.AppliedKeyEventForTest(p.c, g, fx[0]) {
			t.Fatalf("precondition: %s applied x's rekey", p.name)
		}
	}
	tn.settle(admin, other, late)
	logFrontiers(t, g, fx[0], healID, admin, other, late)
	// late sends: it must not seal under an epoch x computes (x would read it), and the
	// members must read it.
	xs := protocol.LiveEpochsForTest(x.c, g)
	n = len(rec.stop())
	rec.start()
	mustSend(t, late, g, "from late")
	tn.settle(admin, other, late)
	for _, env := range newPubs(rec, n) {
		if f := protocol.OpenFrameForTest(xs, g, env.Topic, env.Payload); env.Topic == info.Topic && f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("x (departed) opens late's publish (key block %v, %d bytes)", f.Block != nil, len(f.Body))
		}
	}
	logFrontiers(t, g, fx[0], healID, admin, other, late)
	waitSameEpoch(tn, g, admin, other, late)
	mustSend(t, other, g, "from other")
	waitTexts(t, tn, g, []string{"from late"}, admin, other)
	waitTexts(t, tn, g, []string{"from other"}, admin, late)
	_ = eH
}

// shortFrontier abbreviates a frontier's ids for logs.
func shortFrontier(f epoch.Frontier) []string {
	out := make([]string, len(f))
	for i, id := range f {
		out[i] = fmt.Sprintf("%x", id[:4])
	}
	return out
}

func logFrontiers(t *testing.T, g protocol.GroupID, rx, h epoch.ID, ps ...*peer) {
	t.Helper()
	for _, p := range ps {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("%s: frontier %s epoch %x (H %x, RX %x; RX applied %v)", p.name, shortFrontier(f), e[:4], h[:4], rx[:4], protocol.AppliedKeyEventForTest(p.c, g, rx))
	}
}
