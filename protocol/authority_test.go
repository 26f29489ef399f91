package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestAuthorityConcurrentRekeyApplied: a rekey RX authored by x concurrently with its
// removal R (x never learnt R: prev = the frontier before R, membership heads before R)
// stays applied whatever a member learnt first (spec "Authority"): a and b apply R, then
// RX; c is handed RX before R. Every member applies RX and they converge on one epoch
// (and read each other's texts). The rule that refuses a departed author's rekey looks
// only at the rekey's causal past, which does not hold R.
func TestAuthorityConcurrentRekeyApplied(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 901, Tap: rec.tap}, 4)
	a, b, c, x := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, x)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "concurrent", "", b.id, c.id, x.id)
	must(t, err)
	tn.waitFor("joined", func() bool {
		for _, p := range []*peer{b, c, x} {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, a, b, c, x)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	kept := protocol.LiveEpochsForTest(x.c, g)
	_, f0, _ := protocol.EpochInfo(x.c, g)

	x.pause() // x never learns its removal
	c.pause() // c is handed the publishes in the order the test chooses
	rec.start()
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle(a, b)
	must(t, x.c.Rekey(ctx, g))
	_, fx, _ := protocol.EpochInfo(x.c, g)
	if len(fx) != 1 {
		t.Fatalf("precondition: x's frontier after its rekey %x", fx)
	}
	rx := fx[0]
	if got := protocol.KeyEventPrevForTest(x.c, g, rx); !got.Equal(f0) {
		t.Fatalf("precondition: x's rekey names %x, want the frontier before the removal %x", got, f0)
	}
	var removal, rekey [][]byte
	for _, env := range rec.stop() {
		if env.Topic != info.Topic {
			continue
		}
		f := protocol.OpenFrameForTest(kept, g, env.Topic, env.Payload)
		switch {
		case f.Block != nil && f.Block.Event == rx:
			rekey = append(rekey, env.Payload)
		case f.Block != nil && f.Block.Kind == epoch.KindMembership:
			removal = append(removal, env.Payload)
		}
	}
	if len(removal) == 0 || len(rekey) != 1 {
		t.Fatalf("precondition: recorded %d publishes of the removal, %d of x's rekey", len(removal), len(rekey))
	}

	// a and b learnt R first.
	tn.settle(a, b)
	for _, p := range []*peer{a, b} {
		if !protocol.AppliedKeyEventForTest(p.c, g, rx) {
			t.Errorf("%s (removal first) did not apply x's concurrent rekey", p.name)
		}
	}
	// c learns RX first, then R.
	protocol.Inject(c.c, info.Topic, rekey[0])
	if !protocol.AppliedKeyEventForTest(c.c, g, rx) {
		t.Errorf("c (rekey first) did not apply x's concurrent rekey")
	}
	for _, p := range removal {
		protocol.Inject(c.c, info.Topic, p)
	}
	tn.settle(a, b, c)
	waitSameEpoch(tn, g, a, b, c)
	for _, p := range []*peer{a, b, c} {
		if !protocol.AppliedKeyEventForTest(p.c, g, rx) {
			t.Errorf("%s: x's concurrent rekey not applied after convergence", p.name)
		}
	}
	mustSend(t, c, g, "after the removal")
	waitTexts(t, tn, g, []string{"after the removal"}, a, b)
}
