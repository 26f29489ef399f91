package protocol_test

import (
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
)

// TestReview14RekeyOverRetracted (review 14): after late retracted x's rekey RX (review 11's
// order: RX handed before L and H), x — departed, from its database before L — rekeys
// again over RX (RX3, prev {RX}, heads from before L). The others never applied RX (refused,
// not recorded): RX3 names a key event they never met, so it waits among x's pending
// envelopes for good. At late RX is known, superseded and not applied (retracted), so the
// authority rule (departedIn) skips it as a prev whose heads are not kept, finds no
// departure in RX3's own heads, and applies RX3, which enters late's frontier beside H:
// late's frontier {H, RX3}, the others' {H} — the rule is meant to be a function of the
// rekey and the events it names, not of what the receiver learnt first. Asserted: late
// does not apply RX3 (as the others), its frontier stays {H}, and it reads the others'
// texts as they read its own (lateSendsUnreadByX). Measured: late applies RX3 (frontier
// {H, RX3}, another epoch than the others'), then heals (RX3 is a departed author's event):
// its heal names RX3, which the others never meet, so they hold RX3 unseen on late's word
// and record the heal and every key event after it (TestReview14ConcurrentAddFillsRecords:
// full records after 32). x can repeat it with each rekey it chains (RX4 over RX3 ...),
// one heal each. The scene is review 12's old-frontier order (RX's prev {F0, H}): x's
// frontier {RX} is late's before the retraction, whose epoch stays live at late; with
// prev {H} alone late's {F0, RX} differs from x's {RX} and late never opens RX3.
func TestReview14RekeyOverRetracted(t *testing.T) {
	s := newLeaverRekeyPrev(t, 1402, nil, withOldFrontier)
	tn, g, admin, other, late, x := s.tn, s.g, s.admin, s.other, s.late, s.x
	s.inject(late, s.rekey)
	if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
		t.Fatalf("precondition: late (x a member there) did not apply x's rekey")
	}
	s.inject(late, s.leave)
	s.inject(late, s.heal)
	if _, f, _ := protocol.EpochInfo(late.c, g); protocol.AppliedKeyEventForTest(late.c, g, s.rx) || !slices.Equal(f, epoch.Frontier{s.healID}) {
		t.Fatalf("precondition: late did not retract RX (frontier %s)", shortFrontier(f))
	}
	tn.settle(admin, other, late)

	// x rekeys again over its frontier {RX}.
	rx3, pubs := s.rekeyOverRX(t, "RX3")
	for _, p := range []*peer{admin, other, late} {
		s.inject(p, pubs)
	}
	for _, p := range []*peer{admin, other} {
		if protocol.AppliedKeyEventForTest(p.c, g, rx3) {
			t.Fatalf("precondition: %s applied RX3", p.name)
		}
	}
	logFrontiers(t, g, rx3, s.healID, admin, other, late)
	if protocol.AppliedKeyEventForTest(late.c, g, rx3) {
		t.Errorf("late applied RX3, x's rekey over its retracted RX (the others hold it pending)")
	}
	if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, epoch.Frontier{s.healID}) {
		t.Errorf("late's frontier %s after RX3, want the heal's %s, as the others'", shortFrontier(f), shortFrontier(epoch.Frontier{s.healID}))
	}
	tn.settle(admin, other, late)
	s.lateSendsUnreadByX(t, protocol.LiveEpochsForTest(x.c, g), rx3)
	t.Logf("records after: admin %d, other %d, late %d (admin and other hold RX3 unseen, named by late's heal: %v)",
		protocol.RecordedForTest(admin.c, g), protocol.RecordedForTest(other.c, g), protocol.RecordedForTest(late.c, g),
		len(protocol.HeldUnseenForTest(admin.c, g)) > 0)
}
