package protocol_test

import (
	"bytes"
	"context"
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
			s.lateSendsUnreadByX(t, xs, s.rx)
		})
	}
}

// TestReview12RetractedRekeyDescendant (review 12): late, handed x's rekey RX before x's
// leave (x a member there; RX's prev {H}, late's frontier {F0, RX}), rekeys itself (K,
// prev {F0, RX}: x still a member at late, so K has a slot for x). L and H then come: RX
// is no longer in late's frontier (K superseded it), so nothing is retracted, and H,
// applied superseded (RX named it), sent x no slot, which drops x from late's uncovered
// installations. x holds the seeds of F0 (a member then), RX (its own) and K (its slot):
// the test composes every epoch of those seeds (x's view, without its client: x's
// schedule never held late's {F0, RX}) and asserts that late's next text is not sealed
// under one of them (the members reaching one epoch is open: Known limits (2)).
func TestReview12RetractedRekeyDescendant(t *testing.T) {
	s := newLeaverRekey(t, 1202, nil)
	tn, g, admin, other, late, x := s.tn, s.g, s.admin, s.other, s.late, s.x
	if len(s.f0) != 1 {
		t.Fatalf("precondition: F0 %s", shortFrontier(s.f0))
	}
	f0 := s.f0[0]
	s.inject(late, s.rekey)
	if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
		t.Fatalf("precondition: late (x a member there) did not apply x's rekey")
	}
	seedF0, ok1 := protocol.KeySeedForTest(late.c, g, f0)
	seedRX, ok2 := protocol.KeySeedForTest(x.c, g, s.rx)
	n := len(s.rec.stop())
	s.rec.start()
	must(t, late.c.Rekey(context.Background(), g))
	_, fk, _ := protocol.EpochInfo(late.c, g)
	if len(fk) != 1 || fk[0] == s.rx {
		t.Fatalf("precondition: late did not rekey over RX (frontier %s)", shortFrontier(fk))
	}
	k := fk[0]
	seedK, ok3 := protocol.KeySeedForTest(late.c, g, k)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("precondition: seeds of F0 %v, RX %v, K %v", ok1, ok2, ok3)
	}
	xInst := installationOf(t, x)
	slotForX := false
	for _, env := range newPubs(s.rec, n) {
		f := protocol.OpenFrameForTest(protocol.LiveEpochsForTest(late.c, g), g, env.Topic, env.Payload)
		if env.Topic == s.topic && f.Block != nil && f.Block.Event == k {
			h := f.Block.Hinter()
			_, slotForX = f.Block.Find(h.Hint(epoch.Installation(xInst)))
		}
	}
	if !slotForX {
		t.Fatalf("precondition: late's rekey K has no slot for x")
	}
	// Every epoch x computes from the seeds it holds.
	seeds := map[epoch.ID]epoch.Seed{f0: seedF0, s.rx: seedRX, k: seedK}
	var xs []epoch.Epoch
	for _, ids := range [][]epoch.ID{{f0}, {s.rx}, {k}, {f0, s.rx}, {f0, k}, {s.rx, k}, {f0, s.rx, k}} {
		f, err := epoch.NewFrontier(ids...)
		must(t, err)
		var cs []epoch.ID
		for _, id := range f {
			sd := seeds[id]
			c, err := epoch.Contribution(epoch.ID(g), &sd, id, f)
			must(t, err)
			cs = append(cs, c)
		}
		e, err := epoch.Compose(epoch.ID(g), f, cs)
		must(t, err)
		xs = append(xs, e)
	}
	s.inject(late, s.leave)
	s.inject(late, s.heal)
	if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, epoch.Frontier{s.healID}) {
		t.Errorf("after the heal: late's frontier %s, want the heal's %s (K and RX retracted)", shortFrontier(f), shortFrontier(epoch.Frontier{s.healID}))
	}
	tn.settle(admin, other, late)
	logFrontiers(t, g, s.rx, s.healID, admin, other, late)
	s.lateSendsUnreadByX(t, xs, s.rx)
}

// TestReview12RetractChainedRekey (review 12): x, after its leave, rekeys twice: RX
// (prev {H}, as in TestRetractedRekeyStays) then RX2 (prev {RX}, the next rekey of its
// client). late, handed both before L (x a member there), applies both: RX2 supersedes RX.
// When L and H come, the only frontier rekey naming H is gone (RX2 names RX), so nothing
// is retracted, H (applied superseded, no slot for x) drops x from late's uncovered
// installations, and RX2's coverage is a member's: late stays on {F0, RX2} or {RX2}, an
// epoch x computes. The others hold RX2 pending (its prev RX refused). Asserted: late's
// next text is not opened by x (its own client's live epochs): H, superseded, no longer
// takes x out of late's uncovered installations, so late heals before sending.
func TestReview12RetractChainedRekey(t *testing.T) { chainedRekey(t, false) }

// TestReview12RetractChainedRekeyRestart: the same with late restarted after applying RX and
// RX2, before L and H (converge10): RX's record (its prev {H} and origin, RX out of the
// frontier since RX2) is stored with RX2's block, so that H still retracts both.
func TestReview12RetractChainedRekeyRestart(t *testing.T) { chainedRekey(t, true) }

func chainedRekey(t *testing.T, restart bool) {
	s := newLeaverRekey(t, 1203, nil)
	tn, g, admin, other, late, x := s.tn, s.g, s.admin, s.other, s.late, s.x
	rx2, chained := s.rekeyOverRX(t, "RX2")
	s.inject(late, s.rekey)
	s.inject(late, chained)
	if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) || !protocol.AppliedKeyEventForTest(late.c, g, rx2) {
		t.Fatalf("precondition: late (x a member there) did not apply RX and RX2")
	}
	if restart {
		late.stop()
		late.start(false)
		if !protocol.AppliedKeyEventForTest(late.c, g, rx2) {
			t.Fatalf("precondition: late lost RX2 in the restart")
		}
	}
	s.inject(late, s.leave)
	s.inject(late, s.heal)
	if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, epoch.Frontier{s.healID}) {
		t.Errorf("after the heal: late's frontier %s, want the heal's %s (RX2 and RX retracted)", shortFrontier(f), shortFrontier(epoch.Frontier{s.healID}))
	}
	tn.settle(admin, other, late)
	logFrontiers(t, g, rx2, s.healID, admin, other, late)
	xs := protocol.LiveEpochsForTest(x.c, g)
	s.lateSendsUnreadByX(t, xs, rx2)
}
