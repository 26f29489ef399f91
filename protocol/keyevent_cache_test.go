package protocol_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestKeyEventFailedCommitLeavesCache: a receiver whose transaction fails while it applies
// a removal publish (the store refuses the commit) keeps its cached group — members,
// current epoch — and its stored one as they were; the same publish applied afterwards
// moves both to the admin's epoch without the removed member.
func TestKeyEventFailedCommitLeavesCache(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 71}, 0)
	admin, rx, victim := tn.add("admin"), tn.add("rx"), tn.add("victim")
	tn.connect(admin, rx, victim)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "g", "", rx.id, victim.id)
	must(t, err)
	tn.settle()
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	tp := newTap(t, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	must(t, admin.c.RemoveMembers(ctx, g, victim.id))
	tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
	envs := tp.all()[seen:]

	members0, cur0 := protocol.CachedGroupForTest(rx.c, g)
	_, _, stored0 := protocol.EpochInfo(rx.c, g)
	if !slices.Contains(members0, victim.id) || cur0 != stored0 {
		t.Fatalf("before: cached members hold the victim: %v; cached epoch is the stored one: %v", slices.Contains(members0, victim.id), cur0 == stored0)
	}
	failures := 0
	protocol.SetCommitHookForTest(rx.c, func() error { failures++; return errors.New("injected commit failure") })
	for _, e := range envs {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	protocol.SetCommitHookForTest(rx.c, nil)
	if failures == 0 {
		t.Fatal("no transaction ran")
	}
	members1, cur1 := protocol.CachedGroupForTest(rx.c, g)
	if _, _, stored1 := protocol.EpochInfo(rx.c, g); stored1 != stored0 {
		t.Fatal("failed transactions moved the stored epoch")
	}
	if !slices.Equal(members1, members0) || cur1 != cur0 {
		t.Fatalf("failed transactions moved the cache: members %d -> %d, epoch changed: %v", len(members0), len(members1), cur1 != cur0)
	}

	for _, e := range envs {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	members2, cur2 := protocol.CachedGroupForTest(rx.c, g)
	_, _, want := protocol.EpochInfo(admin.c, g)
	if slices.Contains(members2, victim.id) || cur2 != want {
		t.Fatalf("after the publish applied: victim still a member: %v; on the admin's epoch: %v", slices.Contains(members2, victim.id), cur2 == want)
	}
	if _, _, stored2 := protocol.EpochInfo(rx.c, g); stored2 != cur2 {
		t.Fatal("cached epoch is not the stored one")
	}
}

// TestMemberInstallationsCacheRollback: installation lists cached during a transaction
// that stored an installation record and then failed are not served afterwards (the
// store never held that record); a committed change is seen at once.
func TestMemberInstallationsCacheRollback(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 73}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	before, err := protocol.MemberInstallationsForTest(a.c, b.id)
	must(t, err)
	if len(before) != 1 {
		t.Fatalf("%d installations of b", len(before))
	}
	revoked := before[0]
	revoked.Revoked = true
	if seen := protocol.FailedInstallationWriteForTest(a.c, revoked, b.id); len(seen) != 0 {
		t.Fatalf("inside the failing transaction: %d unrevoked installations, want 0 (its own write)", len(seen))
	}
	after, err := protocol.MemberInstallationsForTest(a.c, b.id)
	must(t, err)
	if len(after) != 1 || after[0].ID != before[0].ID {
		t.Fatalf("after the failed transaction: %d installations of b, want the stored one", len(after))
	}
	must(t, protocol.PutInstallationForTest(a.c, revoked))
	if now, err := protocol.MemberInstallationsForTest(a.c, b.id); err != nil || len(now) != 0 {
		t.Fatalf("after a committed revocation: %d unrevoked installations of b (%v), want 0", len(now), err)
	}
}
