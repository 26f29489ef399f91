package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix32MutualRemovalParentLate (fix 32): TestReview26MutualRemovalConcurrent's scene with
// b given Pt, R, then M before its parent Pm, then Pm: when M comes, R applies at b (m no
// member), and M waits for Pm or is dropped as a non-member's; Pm then overrides R (C2)
// until M is merged (C3). Asserted as there: one membership, one epoch, nothing held, texts
// read, m and t read nothing after.
//
// Measured: base c208881 fails 3 of 3 (b applied R's key block before the override; its heal,
// sealed under an epoch composed with R's seed that a and a2 refused without keeping, was
// unread for good; M held on a's word at b). Fix 32 (keepRefused in refuseOverridden, the
// departed author's publish pending for a parent): passes alone and under -race, but FAILS
// about 1 in 4 under load (broad set beside other helpers): a/a2 end on {h_a, h_b}, b on
// {h_b} — b never opens a's heal concurrent with its own (sealed under {h_a2'} , an epoch b
// never held alone, b having stood on {R, ...}). Residual, not fixed here (see report).
//
// Fix 34 (root cause, not fixed): a and a2 apply b's heal H_b (prev {R}) beside R's prev P
// (they refused R): their frontier {P, H_b}, the designated heal sealed under it. In b's
// schedule P is behind H_b (through R): its kept seeds' candidates (antichains only) never
// compose {P, H_b}. Still about 1 in 3 under load (spec Frontier, "Known limit (crossing
// heals after a C3 removal)", for what was tried).
//
// Fix 36 (logs): the failing runs were those where b healed R's removal of m (H_b, prev {R})
// as soon as it applied R, before M and Pm came (a heal run after the receive of R's
// publish commits, within the hand-off: b the designated installation); a's heal, prev {P,
// H_b}, then crossed b's next heal. "b-heals-first" gives b the smallest installation id;
// "as-it-comes" is the scene as before. Measured before the fix: b-heals-first 5 of 6 fail
// (the one pass: b had not healed at the hand-off). Fix 36 (cutOverridden: R's kept seed
// loses its prev links once R is judged overridden, so b composes {P, H_b}): under load
// (-count=12 beside -race -count=4) 12 of 12 + 4 of 4 pass, both variants.
func TestFix32MutualRemovalParentLate(t *testing.T) {
	for _, bHealsFirst := range []bool{false, true} {
		name := "as-it-comes"
		if bHealsFirst {
			name = "b-heals-first"
		}
		t.Run(name, func(t *testing.T) { fix32ParentLate(t, bHealsFirst) })
	}
}

func fix32ParentLate(t *testing.T, bHealsFirst bool) {
	tn := newTestNet(t, memory.Config{Seed: 3212}, 0)
	var a, a2, b *peer
	if !bHealsFirst {
		a, a2, b = tn.addPersistent("a"), tn.addPersistent("a2"), tn.addPersistent("b")
	} else {
		// b the designated installation once m and t are gone (the smallest installation
		// id of the three): it heals over R at the hand-off, before a and a2 run.
		ps := []*peer{tn.addPersistent("p1"), tn.addPersistent("p2"), tn.addPersistent("p3")}
		slices.SortFunc(ps, func(x, y *peer) int {
			i, j := protocol.OwnInstallationForTest(x.c), protocol.OwnInstallationForTest(y.c)
			return bytes.Compare(i[:], j[:])
		})
		b, a, a2 = ps[0], ps[1], ps[2]
		t.Logf("roles (debug logs name the peers p1..p3): a is %s, a2 is %s, b is %s", a.name, a2.name, b.name)
		a.name, a2.name, b.name = "a", "a2", "b"
	}
	m, tt, c := tn.add("m"), tn.add("t"), tn.add("c")
	tn.connect(a, a2, b, m, tt, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "r26m", "", a2.id, m.id, tt.id, b.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, a2.id))
	tn.settle()
	tn.waitFor("a2 admin", func() bool {
		info, err := a2.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Admins, a2.id)
	})
	waitSameEpoch(tn, g, a, a2, b, m, tt)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	rd := tn.net.Join("reader")
	window := func(from, to time.Time) []transport.Envelope {
		envs, err := rd.History(ctx, []string{topic}, from, to)
		must(t, err)
		return envs
	}
	for _, p := range []*peer{a2, b, m, tt} {
		p.pause()
	}
	t0 := time.Now().Add(-time.Millisecond)
	must(t, a.c.AddAdmins(ctx, g, m.id)) // Pm
	time.Sleep(30 * time.Millisecond)
	t1 := time.Now()
	must(t, a2.c.AddAdmins(ctx, g, tt.id)) // Pt, a2 has not seen Pm
	time.Sleep(30 * time.Millisecond)
	t2 := time.Now()
	envPm, envPt := window(t0, t1), window(t1, t2)
	a.pause()
	protocol.ReceiveLiveForTest(m.c, slices.Clone(envPm))
	protocol.ReceiveLiveForTest(tt.c, slices.Clone(envPt))
	im, err := m.c.Group(ctx, g)
	must(t, err)
	it, err := tt.c.Group(ctx, g)
	must(t, err)
	if !slices.Contains(im.Admins, m.id) || slices.Contains(im.Admins, tt.id) || !slices.Contains(it.Admins, tt.id) || slices.Contains(it.Admins, m.id) {
		t.Fatalf("setup: m admins %v, t admins %v (%d/%d envelopes)", im.Admins, it.Admins, len(envPm), len(envPt))
	}
	must(t, m.c.RemoveMembers(ctx, g, tt.id)) // M
	time.Sleep(30 * time.Millisecond)
	t3 := time.Now()
	must(t, tt.c.RemoveMembers(ctx, g, m.id)) // R
	time.Sleep(30 * time.Millisecond)
	t4 := time.Now()
	envM, envR := window(t2, t3), window(t3, t4)
	t.Logf("envelopes: Pm %d, Pt %d, M %d, R %d", len(envPm), len(envPt), len(envM), len(envR))
	if len(envM) == 0 || len(envR) == 0 {
		t.Fatal("setup: M or R not published")
	}
	tn.net.SetOffline(m.name, true)
	tn.net.SetOffline(tt.name, true)
	members := func(p *peer) []string {
		i, err := p.c.Group(ctx, g)
		if err != nil {
			return nil
		}
		return i.Members
	}
	var mID epoch.ID
	_, fm, _ := protocol.EpochInfo(m.c, g)
	_, ft, _ := protocol.EpochInfo(tt.c, g)
	t.Logf("m's frontier after M %s; t's after R %s", shortIDs(fm), shortIDs(ft))
	if len(fm) == 1 {
		mID = fm[0]
	}
	var rID epoch.ID
	if len(ft) == 1 {
		rID = ft[0]
	}
	detail := func(p *peer) string {
		_, f, e := protocol.EpochInfo(p.c, g)
		listed, open := protocol.RefusedForTest(p.c, g)
		hu := ""
		for id, n := range protocol.HeldUnseenForTest(p.c, g) {
			hu += fmt.Sprintf("%x(M %v R %v):%d ", id[:4], id == mID, id == rID, n)
		}
		byA, _, _ := protocol.HeldForTest(p.c, g, a.id)
		byA2, _, _ := protocol.HeldForTest(p.c, g, a2.id)
		byB, all, unseen := protocol.HeldForTest(p.c, g, b.id)
		return fmt.Sprintf("%s: schedule bytes %d; members %d (m %v t %v) M applied %v known %v, R applied %v known %v; frontier %s epoch %x; refused listed %d open %d; held by a %d a2 %d b %d all %d unseen %d [%s]",
			p.name, protocol.ScheduleSizeForTest(p.c, g), len(members(p)), slices.Contains(members(p), m.id), slices.Contains(members(p), tt.id),
			protocol.AppliedKeyEventForTest(p.c, g, mID), protocol.KnownKeyEventForTest(p.c, g, mID),
			protocol.AppliedKeyEventForTest(p.c, g, rID), protocol.KnownKeyEventForTest(p.c, g, rID),
			shortIDs(f), e[:4], listed, open, byA, byA2, byB, all, unseen, hu)
	}
	// y (a, a2): M then R; x (b): R then M.
	all := func(parts ...[]transport.Envelope) []transport.Envelope {
		var out []transport.Envelope
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	protocol.ReceiveLiveForTest(a.c, all(envPt, envM, envR))
	protocol.ReceiveLiveForTest(a2.c, all(envPm, envM, envR))
	protocol.ReceiveLiveForTest(b.c, all(envPt, envR, envM, envPm)) // M before its parent Pm, R applied: m no member when M comes
	t.Logf("b after R: members %d (m %v, t %v)", len(members(b)), slices.Contains(members(b), m.id), slices.Contains(members(b), tt.id))
	for _, p := range []*peer{a, a2, b} {
		t.Logf("after hand-off: %s", detail(p))
	}
	for _, p := range []*peer{a, a2, b} {
		p.dev.Run = chorustest.Start(ctx, p.c, p.dev.Events)
		p.refresh()
	}
	tn.settle(a, a2, b)
	mustSend(t, a, g, "from a")
	mustSend(t, a2, g, "from a2")
	mustSend(t, b, g, "from b")
	tn.settle(a, a2, b)
	time.Sleep(500 * time.Millisecond)
	tn.settle(a, a2, b)
	for _, p := range []*peer{a, a2, b} {
		t.Logf("settled: %s", detail(p))
	}
	for _, p := range []*peer{a, a2, b} {
		if ms := members(p); slices.Contains(ms, m.id) || slices.Contains(ms, tt.id) {
			t.Errorf("%s: m a member %v, t a member %v: C3 removes both (a split of the membership)", p.name, slices.Contains(ms, m.id), slices.Contains(ms, tt.id))
		}
	}
	ap := protocol.AppliedKeyEventForTest(a.c, g, mID)
	for _, p := range []*peer{a2, b} {
		if got := protocol.AppliedKeyEventForTest(p.c, g, mID); got != ap {
			t.Errorf("%s: M's key event applied %v, at a %v", p.name, got, ap)
		}
	}
	_, _, ea := protocol.EpochInfo(a.c, g)
	for _, p := range []*peer{a2, b} {
		if _, _, e := protocol.EpochInfo(p.c, g); e != ea {
			t.Errorf("%s: epoch %x, a's %x", p.name, e[:4], ea[:4])
		}
	}
	for _, p := range []*peer{a, a2, b} {
		for _, text := range []string{"from a", "from a2", "from b"} {
			if !readWithin(tn, p, g, text, 5*time.Second) {
				t.Errorf("%s did not read %q", p.name, text)
			}
		}
	}
	// Later traffic and restarts: does anything release what is held?
	for round := range 2 {
		for _, p := range []*peer{a, a2, b} {
			mustSend(t, p, g, fmt.Sprintf("later %d from %s", round, p.name))
		}
		tn.settle(a, a2, b)
	}
	a.restart()
	b.restart()
	tn.settle(a, a2, b)
	mustSend(t, a2, g, "after restarts")
	tn.settle(a, a2, b)
	for _, p := range []*peer{a, a2, b} {
		t.Logf("later: %s", detail(p))
		if _, all, _ := protocol.HeldForTest(p.c, g, a.id); all > 0 {
			t.Errorf("%s holds %d key event ids on a member's word for good (M or R, whose blocks nobody takes)", p.name, all)
		}
	}
	// A newcomer after it: does the hold get in the way of an add?
	must(t, a.c.AddMembers(ctx, g, c.id))
	tn.settle(a, a2, b, c)
	mustSend(t, a, g, "to c")
	mustSend(t, c, g, "from c")
	tn.settle(a, a2, b, c)
	if !readWithin(tn, c, g, "to c", 5*time.Second) {
		t.Errorf("c (added after) did not read a's text")
	}
	for _, p := range []*peer{a, a2, b} {
		if !readWithin(tn, p, g, "from c", 5*time.Second) {
			t.Errorf("%s did not read c's text", p.name)
		}
		t.Logf("after c's add: %s", detail(p))
	}
	envs := window(t0, time.Time{})
	for _, p := range []*peer{m, tt} {
		for _, e := range envs {
			protocol.Inject(p.c, e.Topic, e.Payload)
		}
		for _, text := range []string{"from a", "from a2", "from b"} {
			if p.texts(g)[text] != 0 {
				t.Errorf("%s (removed) read %q", p.name, text)
			}
		}
	}
}
