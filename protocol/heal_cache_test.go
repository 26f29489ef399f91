package protocol_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestHealCheckKeptAfterKeyEvent: a receiver that finds the group healed after applying a
// key event keeps that finding for its next send (which skipped the check only after a
// send of its own found it), in agreement with the check computed afresh; a transaction
// that fails keeps nothing, and the same publish applied afterwards does. The receiver
// has the smallest installation id (an outranked one skips the check on receive:
// TestKeyEventOutrankedSkipsHealCheck).
func TestHealCheckKeptAfterKeyEvent(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 81}, 0)
	admin, rx, others, g := keyEventGroupFirst(t, tn, "heal", 3)
	ctx := context.Background()
	tp, seen := tapPaused(t, tn, admin, rx, g)
	removal := func(victim *peer) func() {
		t.Helper()
		must(t, admin.c.RemoveMembers(ctx, g, victim.id))
		tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		return func() {
			for _, e := range envs {
				protocol.Inject(rx.c, e.Topic, e.Payload)
			}
		}
	}
	check := func(what string, wantCached bool) {
		t.Helper()
		cached, fresh, err := protocol.HealthyForTest(rx.c, g)
		must(t, err)
		if !fresh {
			t.Fatalf("%s: the group is not healed", what)
		}
		if cached != wantCached {
			t.Fatalf("%s: kept as healed: %v, want %v", what, cached, wantCached)
		}
	}
	removal(others[0])()
	check("after a removal", true)

	apply := removal(others[1])
	protocol.ForgetHealthyForTest(rx.c, g)
	protocol.SetCommitHookForTest(rx.c, func() error { return errors.New("injected commit failure") })
	apply()
	protocol.SetCommitHookForTest(rx.c, nil)
	check("after a failed transaction", false)
	apply()
	check("after the removal applied", true)
	_, _, want := protocol.EpochInfo(admin.c, g)
	if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
		t.Fatal("receiver not on the admin's epoch")
	}
}

// TestKeyEventOutrankedSkipsHealCheck: of two receivers of a removal, at most one keeps
// a heal finding: an installation whose id is above a member installation the removal's
// seed reached (here the designated one, at most one of them) cannot heal, so its
// receive skips the heal check (a slot hint per member installation, issue 13) and keeps
// nothing; its next send runs the check, finds the group healed, keeps that and sends
// under the admin's epoch.
func TestKeyEventOutrankedSkipsHealCheck(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 83}, 0)
	admin, rx1, rx2 := tn.add("admin"), tn.add("rx1"), tn.add("rx2")
	tn.connect(admin, rx1, rx2)
	var others []*peer
	for i := range 4 {
		p := tn.add(fmt.Sprintf("m%d", i))
		tn.connect(admin, p)
		p.stop()
		others = append(others, p)
	}
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "outranked", "", append(ids(others...), rx1.id, rx2.id)...)
	must(t, err)
	tn.settle(admin, rx1, rx2)
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	tp := newTap(t, tn.net, info.Topic)
	rx1.pause()
	rx2.pause()
	seen := len(tp.all())
	must(t, admin.c.RemoveMembers(ctx, g, others[0].id))
	tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
	time.Sleep(20 * time.Millisecond)
	_, _, want := protocol.EpochInfo(admin.c, g)
	kept := 0
	for _, rx := range []*peer{rx1, rx2} {
		for _, e := range tp.all()[seen:] {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			t.Fatalf("%s not on the admin's epoch after the removal", rx.name)
		}
		cached, fresh, err := protocol.HealthyForTest(rx.c, g)
		must(t, err)
		if !fresh {
			t.Fatalf("%s: the group is not healed after the removal", rx.name)
		}
		if cached {
			kept++
			continue
		}
		// Outranked: the next send runs the check and keeps its finding.
		if _, err := rx.c.Send(ctx, g, protocol.Text("after the removal")); err != nil {
			t.Fatalf("%s: send after the removal: %v", rx.name, err)
		}
		if cached, fresh, err := protocol.HealthyForTest(rx.c, g); err != nil || !cached || !fresh {
			t.Fatalf("%s: after its send: kept %v, healed %v (%v), want both", rx.name, cached, fresh, err)
		}
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			t.Fatalf("%s: its send moved it off the admin's epoch (it rekeyed)", rx.name)
		}
	}
	if kept > 1 {
		t.Fatalf("%d receivers kept a heal finding after the removal, want at most 1 (the others are outranked: no heal check on receive)", kept)
	}
}

// keyEventGroupFirst is keyEventGroup with rx the installation of the smallest id (the
// designated one: no installation outranks it) and the admin the next.
func keyEventGroupFirst(tb testing.TB, tn *testNet, name string, n int) (admin, rx *peer, others []*peer, g protocol.GroupID) {
	tb.Helper()
	var all []*peer
	for i := range n + 2 {
		all = append(all, tn.add(fmt.Sprintf("p%d", i)))
	}
	slices.SortFunc(all, func(a, b *peer) int {
		x, y := protocol.OwnInstallationForTest(a.c), protocol.OwnInstallationForTest(b.c)
		return bytes.Compare(x[:], y[:])
	})
	rx, admin, others = all[0], all[1], all[2:]
	tn.connect(admin, rx)
	for _, p := range others {
		tn.connect(admin, p)
		p.stop()
	}
	g, err := admin.c.CreateGroup(context.Background(), name, "", append(ids(others...), rx.id)...)
	if err != nil {
		tb.Fatal(err)
	}
	tn.settle(admin, rx)
	return admin, rx, others, g
}
