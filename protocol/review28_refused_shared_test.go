package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// TestReview28DepartedEvictsRefused — a REMOVED, unrevoked installation's refused key
// events push an honest MEMBER's refused seed out of the 3 shared refused places (fix 38:
// boundKept, maxRefusedKept), so what that member sealed under it is never read.
// Scene (fix31Scene + c2, d): b pauses (stops receiving) at frontier F0. a promotes c2 (P)
// and rekeys (K1); then m's account is removed (fix31StepDownRemove) while m is paused —
// m's frontier {K1}. Then a, c, c2 and d go offline; b, still on F0 and unaware of P, removes
// c2 (R, prev F0: rule C2 overrides it wherever P is known, b stays a member) and sends
// "late from b" under R's epoch (b applied its own R). With "attack", m then makes 3
// membership key events (adds/removes d, prev {K1} then each other's chain), each kept
// overridden by rule C1 (concurrent with m's removal) and kept at c by keepRefused. c is
// handed, in this order: R (refused: C2; its seed kept for opening, placed at F0's age),
// m's events (placed at K1's age, after R), then b's text.
// Asserted: c reads "late from b" in both modes. Also logged: c's kept seeds after each step.
// Result before a fix: "control" passes; "attack" fails — the 3 refused places are shared
// and the oldest refused seed (R's, an honest member's, placed at its older prev's age)
// goes first, so a removed installation's events evict it (see the report for run counts).
// Suggested root fix (epochs_kept.go boundKept/keptInsert): bound refused seeds per author
// (or keep a departed author's refused seeds apart from a member's, e.g. a member's refused
// seed never dropped for a non-member's), so a non-member's refused events can only evict
// their own author's.
func TestReview28DepartedEvictsRefused(t *testing.T) {
	for _, mode := range []string{"control", "attack"} {
		t.Run(mode, func(t *testing.T) {
			n := 0
			if mode == "attack" {
				n = 3
			}
			review28EvictsRefused(t, 2801, n)
		})
	}
}

func review28EvictsRefused(t *testing.T, seed int64, keyEvents int) {
	ctx := context.Background()
	tn, a, b, m, m2, c, g := fix31Scene(t, seed)
	c2, d := tn.add("c2"), tn.add("d")
	tn.connect(a, c2)
	tn.connect(m, d)
	tn.settle()
	must(t, a.c.AddMembers(ctx, g, c2.id))
	tn.settle()
	tn.waitFor("c2 in the group", func() bool {
		info, err := c2.c.Group(ctx, g)
		return err == nil && info.Status == protocol.GroupActive
	})
	waitSameEpoch(tn, g, a, b, c, c2, m, m2)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic

	b.pause() // b stays on F0
	must(t, a.c.AddAdmins(ctx, g, c2.id))
	tn.settle(a, c, c2, m, m2)
	must(t, a.c.Rekey(ctx, g))
	tn.settle(a, c, c2, m, m2)
	waitSameEpoch(tn, g, a, c, c2, m, m2)

	m.pause()
	m2.pause()
	fix31StepDownRemove(t, tn, a, m, m2, g)
	tn.settle(a, c, c2)
	tn.waitFor("m removed at a, c", func() bool {
		for _, p := range []*peer{a, c} {
			info, err := p.c.Group(ctx, g)
			if err != nil || slices.Contains(info.Members, m.id) {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, a, c, c2)

	for _, p := range []*peer{a, c, c2, d} {
		tn.net.SetOffline(p.name, true)
	}
	start := time.Now().Add(-time.Millisecond)
	must(t, b.c.RemoveMembers(ctx, g, c2.id)) // R: prev F0, C2-overridden by P
	time.Sleep(20 * time.Millisecond)
	mid1 := time.Now()
	mustSend(t, b, g, "late from b")
	time.Sleep(20 * time.Millisecond)
	mid2 := time.Now()
	for i := range keyEvents {
		if i%2 == 0 {
			must(t, m.c.AddMembers(ctx, g, d.id))
		} else {
			must(t, m.c.RemoveMembers(ctx, g, d.id))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	rd := tn.net.Join("reader")
	var envR, envB, envM []transport.Envelope
	if envR, err = rd.History(ctx, []string{topic}, start, mid1); err != nil {
		t.Fatal(err)
	}
	if envB, err = rd.History(ctx, []string{topic}, mid1, mid2); err != nil {
		t.Fatal(err)
	}
	if envM, err = rd.History(ctx, []string{topic}, mid2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(envR) == 0 || len(envB) != 1 || (keyEvents > 0) != (len(envM) > 0) {
		t.Fatalf("setup: %d envelopes of b's removal, %d of b's text, %d of m's events", len(envR), len(envB), len(envM))
	}
	logKept := func(when string) {
		ids, applied, _, inFrontier := protocol.KeptForTest(c.c, g)
		t.Logf("c %s: %d kept seeds %s, %d of applied events, %d in the frontier", when, len(ids), shortIDs(ids), countTrue(applied), countTrue(inFrontier))
	}
	logKept("before")
	protocol.ReceiveLiveForTest(c.c, slices.Clone(envR))
	logKept("after R")
	if len(envM) > 0 {
		protocol.ReceiveLiveForTest(c.c, slices.Clone(envM))
		logKept("after m's events")
	}
	protocol.ReceiveLiveForTest(c.c, slices.Clone(envB))
	deadline := time.Now().Add(5 * time.Second)
	for c.texts(g)["late from b"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("c never reads b's text sealed under R's epoch: a removed installation's refused key events evicted the member's refused seed R")
		}
		protocol.ReceiveLiveForTest(c.c, slices.Clone(envB))
		time.Sleep(50 * time.Millisecond)
	}
}
