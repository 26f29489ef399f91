package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix39KeptCutByMembershipAlone (fix 39): the override of a key event we applied can
// reach us as membership changes alone, no key event with them — and then fix 36's cut
// (cutOverridden, run only where a schedule is stored) waited for our next key event.
//
// a, b, m and admin t share epoch {P}. Concurrently a promotes m (Pm) and t removes m (R, a
// key event), then t leaves (L; a leave carries no seed). b applies R, rekeys over it (X:
// its frontier {X}, P behind X through R) and then learns L (t departs: b may heal, R still
// applied) and Pm last: R is overridden by C2 (Pm names m) for good (its author t departed).
// Neither L nor Pm is a key event. a, which met Pm before R, refuses R (keeping its seed),
// applies X beside P and stands on {P, X}: its text is sealed under that epoch. b's kept
// seeds compose {P, X} only with R's prev links cut.
//
// Measured before fix 39 (f38cdf9): b's live epochs lack {P, X} after Pm, and a's text is not
// read at b until b's next key event (3 of 3 runs).
func TestFix39KeptCutByMembershipAlone(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 3939}, 0)
	// a designated (the smallest installation id of a, b and m): b does not heal when R's
	// override comes (m back, t gone), a does.
	ps := []*peer{tn.add("p1"), tn.add("p2"), tn.add("p3")}
	slices.SortFunc(ps, func(x, y *peer) int {
		i, j := protocol.OwnInstallationForTest(x.c), protocol.OwnInstallationForTest(y.c)
		return bytes.Compare(i[:], j[:])
	})
	a, b, m := ps[0], ps[1], ps[2]
	t.Logf("roles (debug logs name the peers p1..p3): a is %s, b is %s, m is %s", a.name, b.name, m.name)
	a.name, b.name, m.name = "a", "b", "m"
	tt := tn.add("t")
	tn.connect(a, b, m, tt)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "f39", "", b.id, m.id, tt.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, tt.id))
	tn.settle()
	tn.waitFor("t admin", func() bool {
		info, err := tt.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Admins, tt.id)
	})
	waitSameEpoch(tn, g, a, b, m, tt)
	_, fp, _ := protocol.EpochInfo(a.c, g)
	if len(fp) != 1 {
		t.Fatalf("setup: frontier %s, want one event", shortIDs(fp))
	}
	P := fp[0]
	info, err := a.c.Group(ctx, g)
	must(t, err)
	rd := tn.net.Join("reader")
	window := func(from, to time.Time) []transport.Envelope {
		envs, err := rd.History(ctx, []string{info.Topic}, from, to)
		must(t, err)
		return envs
	}
	for _, p := range []*peer{b, m, tt} {
		p.pause()
	}
	t0 := time.Now().Add(-time.Millisecond)
	must(t, a.c.AddAdmins(ctx, g, m.id)) // Pm
	time.Sleep(30 * time.Millisecond)
	t1 := time.Now()
	a.pause()
	must(t, tt.c.RemoveMembers(ctx, g, m.id)) // R, t has not seen Pm
	time.Sleep(30 * time.Millisecond)
	t2 := time.Now()
	_, fr, _ := protocol.EpochInfo(tt.c, g)
	must(t, tt.c.Leave(ctx, g)) // L
	time.Sleep(30 * time.Millisecond)
	t3 := time.Now()
	envPm, envR, envL := window(t0, t1), window(t1, t2), window(t2, t3)
	t.Logf("envelopes: Pm %d, R %d, L %d; t's frontier after R %s", len(envPm), len(envR), len(envL), shortIDs(fr))
	if len(envPm) == 0 || len(envR) == 0 || len(envL) == 0 || len(fr) != 1 {
		t.Fatal("setup: Pm, R or L not published")
	}
	tn.net.SetOffline(m.name, true)
	tn.net.SetOffline(tt.name, true)

	protocol.ReceiveLiveForTest(b.c, append(slices.Clone(envR), envL...)) // m and t gone: a heals (designated)
	t4 := time.Now()
	must(t, b.c.Rekey(ctx, g)) // X, over R (or b's own heal over R before it)
	time.Sleep(30 * time.Millisecond)
	envX := window(t4, time.Now())
	_, fb, _ := protocol.EpochInfo(b.c, g)
	if len(fb) != 1 || fb[0] == fr[0] || fb[0] == P {
		t.Fatalf("setup: b's frontier after its rekey %s (R %s, P %s)", shortIDs(fb), shortIDs(fr), shortIDs([]epoch.ID{P}))
	}
	X := fb[0]
	t5 := time.Now()
	protocol.ReceiveLiveForTest(a.c, append(append(slices.Clone(envR), envX...), envL...))
	time.Sleep(30 * time.Millisecond)
	envA := window(t5, time.Now()) // a's heals, the first sealed under {P, X}
	_, fa, _ := protocol.EpochInfo(a.c, g)
	want, err := epoch.NewFrontier(P, X)
	must(t, err)
	t.Logf("a's frontier %s (%d envelopes); {P, X} %s", shortIDs(fa), len(envA), shortIDs(want))

	rekeys := protocol.RekeysForTest(b.c)
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envPm)) // R overridden for good: no key event with it
	if n := protocol.RekeysForTest(b.c) - rekeys; n != 0 {
		t.Fatalf("setup: b rekeyed %d times when Pm came (its heal cuts R's links whatever the fix)", n)
	}
	bi, err := b.c.Group(ctx, g)
	must(t, err)
	if !slices.Contains(bi.Members, m.id) || slices.Contains(bi.Members, tt.id) {
		t.Fatalf("setup: b's members %v: m should be back (R overridden), t gone", bi.Members)
	}
	_, fb2, _ := protocol.EpochInfo(b.c, g)
	eid, err := epoch.EpochID(epoch.ID(g), want)
	must(t, err)
	live := protocol.LiveEpochsForTest(b.c, g)
	if !slices.ContainsFunc(live, func(e epoch.Epoch) bool { return e.ID == eid }) {
		t.Errorf("b (frontier %s) does not open {P, X} after R's override came as membership changes alone (%d live epochs)", shortIDs(fb2), len(live))
	}
	// a's heal, then its text: b opens the heal under {P, X}, with no key event of its own.
	t6 := time.Now()
	mustSend(t, a, g, "from a")
	time.Sleep(30 * time.Millisecond)
	protocol.ReceiveLiveForTest(b.c, append(slices.Clone(envA), window(t6, time.Now())...))
	_, _, ea := protocol.EpochInfo(a.c, g)
	_, fb3, eb := protocol.EpochInfo(b.c, g)
	if eb != ea || b.texts(g)["from a"] == 0 {
		t.Errorf("b (frontier %s, epoch %x) did not take a's heal (%d envelopes; a's epoch %x) or read its text (%v)",
			shortIDs(fb3), eb[:4], len(envA), ea[:4], b.texts(g)["from a"] != 0)
	}
}
