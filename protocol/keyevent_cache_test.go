package protocol_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport"
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
	tp, seen := tapPaused(t, tn, admin, rx, g)
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

// TestMemberInstallationsCacheRollback: the installations of a group's members cached
// during a transaction that stored an installation record and then failed are not served
// afterwards (the store never held that record); a committed change is seen at once, and
// a removal keeps the other members' entries.
func TestMemberInstallationsCacheRollback(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 73}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	must(t, err)
	tn.settle()
	ofB := func(list []storage.InstallationRecord) []storage.InstallationRecord {
		var out []storage.InstallationRecord
		for _, in := range list {
			if in.Account == b.id {
				out = append(out, in)
			}
		}
		return out
	}
	before, err := protocol.MemberInstallationsForTest(a.c, g)
	must(t, err)
	if len(before) != 3 || len(ofB(before)) != 1 {
		t.Fatalf("%d member installations, %d of b", len(before), len(ofB(before)))
	}
	rec, err := protocol.InstallationForTest(a.c, ofB(before)[0].ID)
	must(t, err)
	revoked := *rec
	revoked.Revoked = true
	if seen := protocol.FailedInstallationWriteForTest(a.c, g, revoked); len(seen) != 2 || len(ofB(seen)) != 0 {
		t.Fatalf("inside the failing transaction: %d installations, %d of b (want 2, 0: its own write)", len(seen), len(ofB(seen)))
	}
	after, err := protocol.MemberInstallationsForTest(a.c, g)
	must(t, err)
	if len(after) != 3 || len(ofB(after)) != 1 {
		t.Fatalf("after the failed transaction: %d installations, %d of b, want the stored ones", len(after), len(ofB(after)))
	}
	must(t, protocol.PutInstallationForTest(a.c, revoked))
	if now, err := protocol.MemberInstallationsForTest(a.c, g); err != nil || len(now) != 2 || len(ofB(now)) != 0 {
		t.Fatalf("after a committed revocation: %d installations, %d of b (%v), want 2, 0", len(now), len(ofB(now)), err)
	}
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	if now, err := protocol.MemberInstallationsForTest(a.c, g); err != nil || len(now) != 1 || now[0].Account != a.id {
		t.Fatalf("after removing c: %d installations (%v), want a's", len(now), err)
	}
}

// TestKeyEventLogAppendRollback: a removal whose transaction fails appends nothing to the
// receiver's stored event log, and leaves nothing behind that a later append would build
// on: once the removal and a second one are applied, the stored log is the full encoding
// of the receiver's state.
func TestKeyEventLogAppendRollback(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 79}, 0)
	admin, rx, v1, v2 := tn.add("admin"), tn.add("rx"), tn.add("v1"), tn.add("v2")
	tn.connect(admin, rx, v1, v2)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "g", "", rx.id, v1.id, v2.id)
	must(t, err)
	tn.settle()
	tp, seen := tapPaused(t, tn, admin, rx, g)
	publishes := func(what string) []transport.Envelope {
		tn.waitFor(what, func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		return envs
	}
	must(t, admin.c.RemoveMembers(ctx, g, v1.id))
	first := publishes("the first removal's publish")
	stored0, _, err := protocol.StoredLogForTest(rx.c, g)
	must(t, err)
	mark0 := protocol.LogMarkForTest(rx.c, g)
	protocol.SetCommitHookForTest(rx.c, func() error { return errors.New("injected commit failure") })
	for _, e := range first {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	protocol.SetCommitHookForTest(rx.c, nil)
	if mark := protocol.LogMarkForTest(rx.c, g); mark != mark0 {
		t.Fatalf("failed transactions moved the mark of the stored log: %d events, was %d", mark, mark0)
	}
	if stored, cached, err := protocol.StoredLogForTest(rx.c, g); err != nil || !bytes.Equal(stored, stored0) || !bytes.Equal(cached, stored0) {
		t.Fatalf("failed transactions changed the stored log: %v (%v), the cache's: %v", !bytes.Equal(stored, stored0), err, !bytes.Equal(cached, stored0))
	}
	must(t, admin.c.RemoveMembers(ctx, g, v2.id))
	second := publishes("the second removal's publish")
	for _, e := range append(first, second...) {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	members, _ := protocol.CachedGroupForTest(rx.c, g)
	if slices.Contains(members, v1.id) || slices.Contains(members, v2.id) {
		t.Fatalf("removals not applied: %v", members)
	}
	stored, cached, err := protocol.StoredLogForTest(rx.c, g)
	must(t, err)
	if len(stored) <= len(stored0) || !bytes.Equal(stored, cached) {
		t.Fatalf("stored log (%d bytes, %d before) is not the encoding of the cached state (%d bytes)", len(stored), len(stored0), len(cached))
	}
	if mark := protocol.LogMarkForTest(rx.c, g); mark <= mark0 {
		t.Fatalf("the applied removals left the log mark at %d events (was %d): the next one rewrites the log", mark, mark0)
	}
}

// TestKeyEventMemoRollback: a removal whose transaction fails leaves the receiver's id
// index of the group's events (prevAgrees' memo) as it was; applied afterwards, with a
// second removal, the index holds exactly the receiver's events.
func TestKeyEventMemoRollback(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 83}, 0)
	admin, rx, v0, v1, v2 := tn.add("admin"), tn.add("rx"), tn.add("v0"), tn.add("v1"), tn.add("v2")
	tn.connect(admin, rx, v0, v1, v2)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "g", "", rx.id, v0.id, v1.id, v2.id)
	must(t, err)
	tn.settle()
	must(t, admin.c.RemoveMembers(ctx, g, v0.id)) // a key event the receiver applies
	tn.settle()
	tp, seen := tapPaused(t, tn, admin, rx, g)
	publishes := func(what string) []transport.Envelope {
		tn.waitFor(what, func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		return envs
	}
	must(t, admin.c.RemoveMembers(ctx, g, v1.id))
	first := publishes("the first removal's publish")
	n0, ids0, exact := protocol.EventMemoForTest(rx.c, g)
	if n0 < 1 || !exact {
		t.Fatalf("no exact event index after a removal: %d events (exact %v)", n0, exact)
	}
	protocol.SetCommitHookForTest(rx.c, func() error { return errors.New("injected commit failure") })
	for _, e := range first {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	protocol.SetCommitHookForTest(rx.c, nil)
	if n, ids, exact := protocol.EventMemoForTest(rx.c, g); n != n0 || !slices.Equal(ids, ids0) || !exact {
		t.Fatalf("a failed transaction changed the event index: %d events (was %d), same ids %v, exact %v", n, n0, slices.Equal(ids, ids0), exact)
	}
	must(t, admin.c.RemoveMembers(ctx, g, v2.id))
	second := publishes("the second removal's publish")
	for _, e := range append(first, second...) {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	members, _ := protocol.CachedGroupForTest(rx.c, g)
	if slices.Contains(members, v1.id) || slices.Contains(members, v2.id) {
		t.Fatalf("removals not applied: %v", members)
	}
	if n, ids, exact := protocol.EventMemoForTest(rx.c, g); n < n0+2 || !exact || !slices.Equal(ids[:n0], ids0) {
		t.Fatalf("event index after the removals: %d events (was %d), exact %v", n, n0, exact)
	}
}
