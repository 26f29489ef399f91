package protocol_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecStaleWelcomeAfterReAdd: a Welcome addressed to an earlier membership of ours
// (sent, or delayed, before we were removed and added again) never reaches our key
// schedule. d, offline since before x's removal, welcomes x with its log and the join of
// its frontier (what an inviter's or a healing member's Welcome carries) after x was
// removed and re-added: x's schedule joined afresh and does not know that d's frontier
// events were superseded long ago; merging the join put them back into x's frontier, and
// x then sealed under an epoch nobody else holds (its messages unreadable). The Welcome
// is refused: x's epoch is unchanged and the others read x.
func TestSecStaleWelcomeAfterReAdd(t *testing.T) {
	for _, snapshots := range []bool{false, true} {
		name := map[bool]string{false: "log", true: "snapshot"}[snapshots]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tn := newEpochNet(t, memory.Config{Seed: 71}, 0)
			var opts []protocol.Option
			if snapshots {
				opts = append(opts, protocol.WithSnapshotsAlways())
			}
			a, b, d, x := tn.addAt("a", ":memory:", opts...), tn.add("b"), tn.add("d"), tn.add("x")
			tn.connect(a, b, d, x)
			g, err := a.c.CreateGroup(ctx, "stale", "", b.id, d.id, x.id)
			must(t, err)
			tn.settle()
			waitSameEpoch(tn, g, a, b, d, x)
			join, err := protocol.FrontierJoinForTest(d.c, g)
			must(t, err)
			d.pause() // d's view stays the one of x's first membership
			must(t, a.c.RemoveMembers(ctx, g, x.id))
			tn.settle(a, b, x)
			must(t, a.c.AddMembers(ctx, g, x.id))
			tn.settle(a, b, x)
			waitSameEpoch(tn, g, a, b, x)
			if snapshots && !protocol.BasedForTest(x.c, g) {
				t.Fatal("x did not re-join from a snapshot")
			}
			_, _, before := protocol.EpochInfo(x.c, g)
			must(t, protocol.SendWelcomeV2ForTest(d.c, installationOf(t, x), g, join))
			tn.settle(a, b, x)
			if _, _, now := protocol.EpochInfo(x.c, g); now != before {
				t.Fatalf("x moved to epoch %x on a Welcome for its earlier membership (was %x)", now[:4], before[:4])
			}
			// Seven key events later no member keeps a seed of d's old frontier (the last 6
			// are kept for opening): x must still be on everyone's epoch.
			for range 7 {
				must(t, a.c.Rekey(ctx, g))
				tn.settle(a, b, x)
			}
			waitSameEpoch(tn, g, a, b, x)
			mustSend(t, x, g, "x after the stale welcome")
			waitTexts(t, tn, g, []string{"x after the stale welcome"}, a, b)
		})
	}
}

// TestSnapshotLateConcurrentEvent: a based newcomer cannot judge an event concurrent with
// its add; its inviter sends it the full log when it applies one. An admin offline for
// more than a day (PendingTTL) renames the group with its old past: the inviter applied
// the rename but sent nothing (it answered only events within PendingTTL of its add), so
// the newcomer held the rename pending, and every later event descends from it: x no
// longer followed the group's membership (here a later rename and a removal, whose key
// event it then cannot apply). The inviter's full log reaches it once per add, however
// late the concurrent event.
func TestSnapshotLateConcurrentEvent(t *testing.T) {
	ctx := context.Background()
	var shift atomic.Int64
	tn := newEpochNet(t, memory.Config{Seed: 73}, 0)
	a := tn.addAt("a", filepath.Join(t.TempDir(), "a.db"), protocol.WithSnapshotsAlways(),
		protocol.WithClock(func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }))
	b, c, x := tn.addPersistent("b"), tn.add("c"), tn.add("x")
	tn.connect(a, b, c, x)
	g, err := a.c.CreateGroup(ctx, "late", "", b.id, c.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle()
	a.pause()
	b.pause()
	must(t, b.c.SetName(ctx, g, "renamed by b"))
	must(t, a.c.AddMembers(ctx, g, x.id))
	a.restart()
	tn.waitFor("x joins from a snapshot", func() bool { return protocol.BasedForTest(x.c, g) })
	// b comes back, and a learns b's rename, more than PendingTTL after its add (a's
	// clock moves on while it does, then comes back: a signs nothing meanwhile).
	shift.Store(int64(protocol.PendingTTL + time.Hour))
	b.restart()
	tn.waitFor("a applies b's rename", func() bool {
		info, err := a.c.Group(ctx, g)
		return err == nil && info.Name == "renamed by b"
	})
	tn.settle()
	shift.Store(0)
	must(t, a.c.SetName(ctx, g, "final"))
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	tn.settle()
	want, err := a.c.Group(ctx, g)
	must(t, err)
	tn.waitFor("x follows the group", func() bool {
		info, err := x.c.Group(ctx, g)
		return err == nil && info.Name == "final" && slices.Equal(info.Members, want.Members)
	}, func() string {
		info, _ := x.c.Group(ctx, g)
		return fmt.Sprintf("x: %q %d members; a: %q %d members", info.Name, len(info.Members), want.Name, len(want.Members))
	})
	waitSameEpoch(tn, g, a, b, x)
	mustSend(t, a, g, "after the late rename")
	waitTexts(t, tn, g, []string{"after the late rename"}, x)
}

// TestSecSnapshotWelcomeLaterEvents: a snapshot add Welcome carries the snapshot's events
// only (SnapshotOf never makes later ones: those are a stored based state's). One with
// later events — here 300 renames by the inviter naming a parent nobody holds — stored them
// all pending at the newcomer, past the bounds every other path keeps
// (MaxPendingEventsPerAuthor, MaxPendingEvents), each re-verified whenever the state is
// loaded. It is refused, the newcomer's state unchanged; the same snapshot without them
// is accepted.
func TestSecSnapshotWelcomeLaterEvents(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 75}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "later", "", b.id)
	must(t, err)
	tn.settle()
	xi := installationOf(t, x)
	padded, err := protocol.SnapshotWithLaterForTest(a.c, g, x.id, 300)
	must(t, err)
	digest := protocol.StateDigest(x.c)
	must(t, protocol.SendSnapshotWelcomeForTest(a.c, xi, g, padded))
	tn.settle()
	if _, err := x.c.Group(ctx, g); err == nil {
		t.Fatalf("joined from a snapshot with later events (%d pending)", protocol.PendingEventsForTest(x.c, g))
	}
	if protocol.StateDigest(x.c) != digest {
		t.Fatal("state changed")
	}
	plain, err := protocol.SnapshotWithLaterForTest(a.c, g, x.id, 0)
	must(t, err)
	must(t, protocol.SendSnapshotWelcomeForTest(a.c, xi, g, plain))
	tn.waitFor("the snapshot without later events joins", func() bool {
		info, err := x.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Members, x.id)
	})
}

// TestSecSnapshotFutureClock: a snapshot's last clock and carried events obey the clock
// rule every received event does (membership: a clock more than MaxClockDriftMs ahead is
// dropped). A snapshot whose last clock is a day ahead made the newcomer sign its own
// events a day ahead — every other member dropped them — and let a forged re-add outlast
// the newcomer's later removal (its clock above every event of the log). It is refused,
// the newcomer's state unchanged.
func TestSecSnapshotFutureClock(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 77}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "clock", "", b.id)
	must(t, err)
	tn.settle()
	ahead := uint64(time.Now().Add(24 * time.Hour).UnixMilli())
	snap, err := protocol.SnapshotForTest(a.c, g, x.id, func(base *membership.Base) { base.LastClock = ahead })
	must(t, err)
	digest := protocol.StateDigest(x.c)
	must(t, protocol.SendSnapshotWelcomeForTest(a.c, installationOf(t, x), g, snap))
	tn.settle()
	if _, err := x.c.Group(ctx, g); err == nil {
		t.Fatal("joined from a snapshot whose last clock is a day ahead")
	}
	if protocol.StateDigest(x.c) != digest {
		t.Fatal("state changed")
	}
}

// TestSecSnapshotStaleAfterRemoval: a snapshot add Welcome made before our removal (here
// an add of us a signed before it added us for real, sent only after it removed us) does
// not re-join us: its add is older than the events we hold. Our state stays as it is.
func TestSecSnapshotStaleAfterRemoval(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 79}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "stale", "", b.id)
	must(t, err)
	tn.settle()
	old, err := protocol.SnapshotForTest(a.c, g, x.id, nil)
	must(t, err)
	must(t, a.c.AddMembers(ctx, g, x.id))
	tn.settle()
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle()
	if info, err := x.c.Group(ctx, g); err != nil || info.Status == protocol.GroupActive {
		t.Fatalf("setup: x not removed (%v)", err)
	}
	digest := protocol.StateDigest(x.c)
	must(t, protocol.SendSnapshotWelcomeForTest(a.c, installationOf(t, x), g, old))
	tn.settle()
	if info, err := x.c.Group(ctx, g); err != nil || info.Status == protocol.GroupActive {
		t.Fatalf("a snapshot made before the removal re-joined x (%v)", err)
	}
	if protocol.StateDigest(x.c) != digest {
		t.Fatal("state changed")
	}
}
