package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// fix35Split is fix31Split with two renames of m's made concurrently with its account's
// departure D: R1, then R2 (R1 its parent). It returns D's, R1's and R2's envelopes.
func fix35Split(t *testing.T, tn *testNet, a, b, m, m2, c *peer, g protocol.GroupID, depart string) (envD, envR1, envR2 []transport.Envelope) {
	t.Helper()
	ctx := context.Background()
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	m.pause()
	m2.pause()
	tn.net.SetOffline(b.name, true)
	tn.net.SetOffline(c.name, true)
	start := time.Now().Add(-time.Millisecond)
	switch depart {
	case "removal":
		fix31StepDownRemove(t, tn, a, m, m2, g)
	case "leave":
		tn.net.SetOffline(a.name, true)
		must(t, m2.c.Leave(ctx, g))
	}
	time.Sleep(20 * time.Millisecond)
	tn.net.SetOffline(a.name, true) // a sees neither rename
	mid := time.Now()
	must(t, m.c.SetName(ctx, g, "m's name")) // R1: m still an admin in its view
	time.Sleep(20 * time.Millisecond)
	mid2 := time.Now()
	must(t, m.c.SetName(ctx, g, "m's second name")) // R2: names R1 as parent
	time.Sleep(20 * time.Millisecond)
	rd := tn.net.Join("reader")
	if envD, err = rd.History(ctx, []string{topic}, start, mid); err != nil {
		t.Fatal(err)
	}
	if envR1, err = rd.History(ctx, []string{topic}, mid, mid2); err != nil {
		t.Fatal(err)
	}
	if envR2, err = rd.History(ctx, []string{topic}, mid2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(envD) == 0 || len(envR1) != 1 || len(envR2) != 1 {
		t.Fatalf("setup: %d envelopes of the departure, %d of R1, %d of R2, want some, 1, 1", len(envD), len(envR1), len(envR2))
	}
	return envD, envR1, envR2
}

// TestFix35DepartedNonKeyParentLate — a departed author's NON-key membership event whose
// parent is missing when it comes. As TestFix31DepartedNonKey, m's account departs (D:
// "removal", m2's step-down then a's removal of m; "leave", m2 leaves) while m, unaware,
// renames twice: R1, then R2 naming R1 as parent; rule C1 keeps both overridden wherever D
// is merged. b (admin) meets R1, R2, then D. a and c meet D first, then R2 BEFORE its
// parent R1, then R1. Fix 31 opened such a publish only when its event was kept
// overridden at once: R2, pending in the merge (its parent R1 unknown), was ErrNotMember —
// refused, its envelope marked seen, never retried — so R2 was lost at a and c, and b's
// later rename, naming R2 as parent, waited there for good (heads differ), as fix 32 found
// for a departed author's KEY event.
// Asserted: R2 met before its parent changes nothing at a and c (no membership head, no
// message of m's) and waits as a pending envelope claimed by m's installation (the bounds
// on pending envelopes, per sender included, apply to it); once R1 comes, both are merged (not applied: the group keeps its first
// name), the same heads at a, b and c, b's later rename applies at a and c, messages are
// read both ways.
func TestFix35DepartedNonKeyParentLate(t *testing.T) {
	for _, depart := range []string{"removal", "leave"} {
		t.Run(depart, func(t *testing.T) {
			ctx := context.Background()
			seed := int64(3501)
			if depart == "leave" {
				seed = 3511
			}
			tn, a, b, m, m2, c, g := fix31Scene(t, seed)
			envD, envR1, envR2 := fix35Split(t, tn, a, b, m, m2, c, g, depart)
			protocol.ReceiveLiveForTest(b.c, slices.Concat(envR1, envR2, envD))
			if depart == "leave" {
				protocol.ReceiveLiveForTest(a.c, slices.Clone(envD))
			}
			protocol.ReceiveLiveForTest(c.c, slices.Clone(envD))
			for _, x := range []*peer{a, c} {
				h0, n0 := protocol.HeadsForTest(x.c, g), fromCount(t, x, g, m.id)
				protocol.ReceiveLiveForTest(x.c, slices.Clone(envR2))
				if h1, n1 := protocol.HeadsForTest(x.c, g), fromCount(t, x, g, m.id); !slices.Equal(h0, h1) || n1 != n0 {
					t.Errorf("%s: R2 before its parent changed heads (%d -> %d) or messages of m's (%d -> %d): it waits, nothing stored", x.name, len(h0), len(h1), n0, n1)
				}
				if claimed, _ := protocol.PendingClaimedForTest(x.c, m.c); claimed == 0 {
					t.Errorf("%s: R2 before its parent is not kept pending under m's installation's claim (the per-sender bound on pending envelopes)", x.name)
				}
				protocol.ReceiveLiveForTest(x.c, slices.Clone(envR1))
				if n := fromCount(t, x, g, m.id); n != n0 {
					t.Errorf("%s stores %d messages of m's after R1 and R2, %d before: a departed author's publish is merged, its message not stored", x.name, n, n0)
				}
			}
			for _, p := range []*peer{a, b, c} {
				tn.net.SetOffline(p.name, false)
			}
			tn.settle(a, b, c)
			for _, x := range []*peer{a, c} {
				if claimed, _ := protocol.PendingClaimedForTest(x.c, m.c); claimed != 0 {
					t.Errorf("%s: R2 still pending (%d bytes claimed by m's installation) once its parent came", x.name, claimed)
				}
			}
			for _, p := range []*peer{a, b, c} {
				info, err := p.c.Group(ctx, g)
				must(t, err)
				if info.Name != "f25" {
					t.Errorf("%s: name %q, want %q (m's renames overridden: rule C1)", p.name, info.Name, "f25")
				}
			}
			ha, hb, hc := protocol.HeadsForTest(a.c, g), protocol.HeadsForTest(b.c, g), protocol.HeadsForTest(c.c, g)
			t.Logf("heads a %d b %d c %d", len(ha), len(hb), len(hc))
			if !slices.Equal(ha, hb) || !slices.Equal(hc, hb) {
				t.Errorf("membership heads differ: a %d, b %d, c %d (R2 lost where it came before its parent)", len(ha), len(hb), len(hc))
			}
			must(t, b.c.SetName(ctx, g, "later")) // b stored R2: its rename names R2 as parent
			tn.settle(a, b, c)
			deadline := time.Now().Add(15 * time.Second)
			for _, p := range []*peer{a, c} {
				for {
					info, err := p.c.Group(ctx, g)
					must(t, err)
					if info.Name == "later" {
						break
					}
					if time.Now().After(deadline) {
						_, _, pend := protocol.StoredEventsForTest(p.c, g)
						t.Fatalf("%s never applies b's later rename (name %q, %d pending events): it names R2 as parent", p.name, info.Name, pend)
					}
					tn.settle(p)
				}
			}
			mustSend(t, a, g, "from a")
			mustSend(t, b, g, "from b")
			mustSend(t, c, g, "from c")
			tn.settle(a, b, c)
			waitTexts(t, tn, g, []string{"from a", "from b", "from c"}, a, b, c)
		})
	}
}
