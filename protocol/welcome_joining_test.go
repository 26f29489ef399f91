package protocol_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// joiningVictim returns a test network where a created group g with b and v, promoted b
// to admin, and v holds g only joining from a's creation Welcome: v was offline when the
// group was created (no store: its full Welcome and the creation are lost) and then got
// a's creation Welcome (the creation event's join), whose creation message never comes.
func joiningVictim(t *testing.T, seed int64) (tn *testNet, g protocol.GroupID, a, b, v *peer) {
	t.Helper()
	ctx := context.Background()
	tn = newEpochNet(t, memory.Config{Seed: seed, HistoryLimit: -1}, 3)
	a, b, v = tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, v)
	tn.settle()
	tn.net.SetOffline(v.name, true)
	g, err := a.c.CreateGroup(ctx, "joining", "", b.id, v.id)
	must(t, err)
	tn.settle(a, b)
	tn.net.SetOffline(v.name, false)
	must(t, protocol.SendOwnCreationWelcomeForTest(a.c, installationOf(t, v), g))
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle()
	if v2, _, _ := protocol.EpochInfo(v.c, g); !v2 {
		t.Fatal("v does not hold the group from the creation Welcome")
	}
	if _, err := v.c.Group(ctx, g); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("v is not joining: %v", err)
	}
	return tn, g, a, b, v
}

// TestSecJoiningWelcomeTakeover: while v joins from the creator's creation Welcome, a
// Welcome from another account neither completes nor replaces its joining state: not a
// member's log Welcome with a join of its choosing (b claims a rekey only it holds), nor
// an admin's snapshot Welcome with a fresh add of v. Had v joined afresh from either
// (it did), it would seal under an epoch b chose and hold b's word for the membership.
// v keeps the creator's join: its epoch is the creation's and it is still joining.
func TestSecJoiningWelcomeTakeover(t *testing.T) {
	for _, snapshot := range []bool{false, true} {
		name := "log"
		if snapshot {
			name = "snapshot"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tn, g, a, b, v := joiningVictim(t, 41)
			_, _, before := protocol.EpochInfo(v.c, g)
			if snapshot {
				forged, err := protocol.SnapshotForTest(b.c, g, v.id, nil)
				must(t, err)
				must(t, protocol.SendSnapshotWelcomeForTest(b.c, installationOf(t, v), g, forged))
			} else {
				join, err := protocol.JoinForTest(b.c, g)
				must(t, err)
				must(t, protocol.SendWelcomeV2ForTest(b.c, installationOf(t, v), g, join))
			}
			tn.settle()
			if _, _, now := protocol.EpochInfo(v.c, g); now != before {
				t.Fatalf("v moved to epoch %x on b's Welcome while joining (was %x)", now[:4], before[:4])
			}
			if _, err := v.c.Group(ctx, g); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("b's Welcome completed v's join: %v", err)
			}
			// The creator's Welcome with its log still joins v.
			join, err := protocol.FrontierJoinForTest(a.c, g)
			must(t, err)
			must(t, protocol.SendWelcomeV2ForTest(a.c, installationOf(t, v), g, join))
			tn.settle()
			if _, err := v.c.Group(ctx, g); err != nil {
				t.Fatalf("the creator's Welcome did not join v: %v", err)
			}
			if !snapshot {
				// b's waiting log Welcome is now judged as a member's Welcome for a group
				// v is in, whose join a member may send any group member (not this
				// test's subject: the same Welcome reaches a member that never joined from
				// a creation Welcome).
				return
			}
			// b's waiting snapshot re-add keeps waiting (v is a member): v reads a and a
			// reads v.
			mustSend(t, v, g, "from-v")
			mustSend(t, a, g, "from-a")
			waitTexts(t, tn, g, []string{"from-v"}, a, b)
			waitTexts(t, tn, g, []string{"from-a"}, v)
		})
	}
}
