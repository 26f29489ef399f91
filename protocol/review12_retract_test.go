package protocol_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
)

// withOldFrontier is RX's prev made by a departed x that names, besides the heal H, the
// frontier it had before its leave (F0): every member had it then, so a member handed RX
// before L applies it with F0 superseded by RX alone.
func withOldFrontier(f0 epoch.Frontier, h epoch.ID) epoch.Frontier {
	prev := append(slices.Clone(f0), h)
	slices.SortFunc(prev, func(a, b epoch.ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(prev)
}

// TestReview12RetractBypassedByOldFrontier (review 12): retract9's retraction refuses
// (epoch.ErrMismatch) when the retracted rekey alone superseded an applied prev — and the
// departed author chooses its prev. x, after its leave L and the heal H, rekeys with
// prev = {F0, H} (F0: the frontier every member had before L, which x had too). late,
// handed RX before L (x a member there), applies it: F0 superseded by RX alone, H held
// on x's word. A leave has no key event of its own (nothing else names F0), so when L
// and H come RX cannot be retracted and late stays on RX's epoch, one x computes. The
// others refuse RX (H's heads hold L) as for prev = {H}. Asserted, as in
// TestRetractedRekeyStays: late's frontier is {H} and RX not applied after H; late's next
// text is not opened by x; the members reach one epoch and read each other. Both orders
// (L only in H's message; L's publish, then H) fail on main: late on {RX}, RX applied, x
// opens late's 9-byte text, late on its own epoch for waitSameEpoch's 30 s.
func TestReview12RetractBypassedByOldFrontier(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave bool
	}{{"heal carrying the leave", false}, {"leave then heal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLeaverRekeyPrev(t, 1201, nil, withOldFrontier)
			tn, g, admin, other, late := s.tn, s.g, s.admin, s.other, s.late
			if !s.rxBlock.Prev.Contains(s.healID) || len(s.rxBlock.Prev) < 2 {
				t.Fatalf("precondition: RX's prev %s does not name F0 %s and H", shortFrontier(s.rxBlock.Prev), shortFrontier(s.f0))
			}
			s.inject(late, s.rekey)
			if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
				t.Fatalf("precondition: late (x a member there) did not apply x's rekey")
			}
			if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, epoch.Frontier{s.rx}) {
				t.Fatalf("precondition: late's frontier %s, want {RX}", shortFrontier(f))
			}
			if tc.leave {
				s.inject(late, s.leave)
			}
			s.inject(late, s.heal)
			for _, p := range []*peer{admin, other} {
				if protocol.AppliedKeyEventForTest(p.c, g, s.rx) {
					t.Fatalf("precondition: %s applied x's rekey", p.name)
				}
			}
			logFrontiers(t, g, s.rx, s.healID, admin, other, late)
			if protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
				t.Errorf("after the heal: late still has x's rekey applied (not retracted)")
			}
			if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, epoch.Frontier{s.healID}) {
				t.Errorf("after the heal: late's frontier %s, want the heal's %s", shortFrontier(f), shortFrontier(epoch.Frontier{s.healID}))
			}
			tn.settle(admin, other, late)
			xs := protocol.LiveEpochsForTest(s.x.c, g)
			n := len(s.rec.stop())
			s.rec.start()
			mustSend(t, late, g, "from late")
			tn.settle(admin, other, late)
			for _, env := range newPubs(s.rec, n) {
				if f := protocol.OpenFrameForTest(xs, g, env.Topic, env.Payload); env.Topic == s.topic && f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
					t.Errorf("x (departed) opens late's publish (key block %v, %d bytes)", f.Block != nil, len(f.Body))
				}
			}
			logFrontiers(t, g, s.rx, s.healID, admin, other, late)
			waitSameEpoch(tn, g, admin, other, late)
			mustSend(t, other, g, "from other")
			waitTexts(t, tn, g, []string{"from late"}, admin, other)
			waitTexts(t, tn, g, []string{"from other"}, admin, late)
		})
	}
}
