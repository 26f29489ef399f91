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
	g := joinedGroup(t, tn, "concurrent", a, b, c, x)
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

// TestAuthorityRekeyBeforeHeal: the order a member learns things in does not let a departed
// installation's rekey through. x leaves (L) and the designated installation heals (H,
// whose heads hold L); x, from its database before L, rekeys with prev = {H} (RX). The
// member late is handed L, then RX, then H: when RX comes, late has applied L (x departed)
// but never met H, whose heads would show L; judged then, RX's past holds no departure and
// late applied it, and H (superseded by RX) then left late on {RX}, an epoch x computes,
// while the others refused RX. Now RX waits for H (a prev it never met), and once H is
// applied it is refused as everywhere: late never applies RX and ends on the others'
// epoch.
func TestAuthorityRekeyBeforeHeal(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 903, Tap: rec.tap}, 0)
	ms := []*peer{tn.add("m0"), tn.add("m1"), tn.add("m2"), tn.add("m3")}
	x := tn.addPersistent("x")
	tn.connect(append(ms, x)...)
	ctx := context.Background()
	slices.SortFunc(ms, func(p, q *peer) int {
		a, b := installationOf(t, p), installationOf(t, q)
		return bytes.Compare(a[:], b[:])
	})
	des, admin, other, late := ms[0], ms[1], ms[2], ms[3]
	g := joinedGroup(t, tn, "late", admin, des, other, late, x)
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

	// x comes back with its database from before L, and rekeys after H.
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
	_, fx, ex := protocol.EpochInfo(x.c, g)
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

	for _, p := range leave {
		protocol.Inject(late.c, info.Topic, p)
	}
	if li, err := late.c.Group(ctx, g); err != nil || slices.Contains(li.Members, x.id) {
		t.Fatalf("precondition: late did not apply x's leave (%v)", err)
	}
	for _, p := range rekey {
		protocol.Inject(late.c, info.Topic, p)
	}
	if protocol.AppliedKeyEventForTest(late.c, g, fx[0]) {
		t.Errorf("late applied x's rekey after x's leave, before the heal it names")
	}
	for _, p := range heal {
		protocol.Inject(late.c, info.Topic, p)
	}
	tn.settle(admin, other, late)
	_, fl, el := protocol.EpochInfo(late.c, g)
	if protocol.AppliedKeyEventForTest(late.c, g, fx[0]) || slices.Contains(fl, fx[0]) || el == ex {
		t.Errorf("late: x's rekey applied (frontier %x, epoch %x; x's epoch %x)", fl, el[:4], ex[:4])
	}
	for _, p := range []*peer{admin, other} {
		if protocol.AppliedKeyEventForTest(p.c, g, fx[0]) {
			t.Errorf("%s applied x's rekey", p.name)
		}
	}
	t.Logf("members' epoch after H %x; late's %x; x's %x", eH[:4], el[:4], ex[:4])
}
