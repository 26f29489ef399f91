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

// TestFix45FailedKeptCutLeavesState (fix 39's cutKept, review 29 item 2): the kept seeds'
// cut runs inside applyMembership and stores the group's bookkeeping before the membership
// log is written; an error past it (the log write failing: a full disk) must leave the
// stored state byte-identical and no cut epoch live. TestFix39KeptCutByMembershipAlone's
// scene up to Pm: b applied R, rekeyed X over it and learnt t's leave L; a's promotion Pm,
// a membership change alone, overrides R for good and cuts R's links at b. Pm is handed to
// b while every group log write of b fails: b's StateDigest, schedule and bookkeeping are
// byte-identical after, its live epochs and cached members unchanged ({P, X} not live, m
// not back). Then, the store well again, the same Pm cuts (b opens {P, X}, m is back): the
// failing run went through the cut.
func TestFix45FailedKeptCutLeavesState(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 4502}, 0)
	ps := []*peer{tn.add("p1"), tn.add("p2"), tn.add("p3")}
	slices.SortFunc(ps, func(x, y *peer) int {
		i, j := protocol.OwnInstallationForTest(x.c), protocol.OwnInstallationForTest(y.c)
		return bytes.Compare(i[:], j[:])
	})
	a, b, m := ps[0], ps[1], ps[2] // a designated: b does not heal when R's override comes
	tt := tn.add("t")
	tn.connect(a, b, m, tt)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "f45", "", b.id, m.id, tt.id)
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
	must(t, tt.c.Leave(ctx, g)) // L
	time.Sleep(30 * time.Millisecond)
	t3 := time.Now()
	envPm, envR, envL := window(t0, t1), window(t1, t2), window(t2, t3)
	if len(envPm) == 0 || len(envR) == 0 || len(envL) == 0 {
		t.Fatal("setup: Pm, R or L not published")
	}
	tn.net.SetOffline(m.name, true)
	tn.net.SetOffline(tt.name, true)
	protocol.ReceiveLiveForTest(b.c, append(slices.Clone(envR), envL...))
	must(t, b.c.Rekey(ctx, g)) // X, over R
	_, fb, _ := protocol.EpochInfo(b.c, g)
	if len(fb) != 1 || fb[0] == P {
		t.Fatalf("setup: b's frontier after its rekey %s", shortIDs(fb))
	}
	want, err := epoch.NewFrontier(P, fb[0])
	must(t, err)
	eid, err := epoch.EpochID(epoch.ID(g), want)
	must(t, err)
	opens := func() bool {
		return slices.ContainsFunc(protocol.LiveEpochsForTest(b.c, g), func(e epoch.Epoch) bool { return e.ID == eid })
	}
	if opens() {
		t.Fatal("setup: b opens {P, X} before Pm")
	}

	digest := protocol.StateDigest(b.c)
	sched, meta, err := protocol.KeysForTest(b.c, g)
	must(t, err)
	members, cur := protocol.CachedGroupForTest(b.c, g)
	live := protocol.LiveEpochsForTest(b.c, g)
	set, failed := protocol.FailGroupLogWritesForTest(b.c)
	set(true)
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envPm))
	set(false)
	if failed() == 0 {
		t.Fatal("setup: no group log write failed (Pm not applied?)")
	}
	t.Logf("%d group log writes failed", failed())
	if d := protocol.StateDigest(b.c); d != digest {
		t.Errorf("state digest changed by a failed membership change")
	}
	sched2, meta2, err := protocol.KeysForTest(b.c, g)
	must(t, err)
	if !bytes.Equal(sched, sched2) || !bytes.Equal(meta, meta2) {
		t.Errorf("stored schedule or bookkeeping changed (schedule same %v, meta same %v)", bytes.Equal(sched, sched2), bytes.Equal(meta, meta2))
	}
	members2, cur2 := protocol.CachedGroupForTest(b.c, g)
	if !slices.Equal(members, members2) || cur != cur2 {
		t.Errorf("cached members or current epoch changed: %v → %v, %x → %x", members, members2, cur[:4], cur2[:4])
	}
	if live2 := protocol.LiveEpochsForTest(b.c, g); !slices.Equal(live, live2) || opens() {
		t.Errorf("live epochs changed by a failed membership change (%d → %d, {P, X} live %v)", len(live), len(live2), opens())
	}

	protocol.ReceiveLiveForTest(b.c, slices.Clone(envPm))
	bi, err := b.c.Group(ctx, g)
	must(t, err)
	if !slices.Contains(bi.Members, m.id) || !opens() {
		t.Errorf("Pm again, the store well: m back %v, {P, X} live %v (want both)", slices.Contains(bi.Members, m.id), opens())
	}
}
