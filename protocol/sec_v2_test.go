package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecDepartedRekeyReplay: an installation publishes rekey blocks under its epoch
// before it is removed (or keeps the epoch key and seals them later). Members keep that
// epoch openable for a while after the removal, and a departed installation's rekey must
// be applied by every member (it may have been authored concurrently with the removal:
// members that applied it before the removal cannot tell), so each replayed block costs
// the group a rekey — but only while that epoch stays openable: the cost is bounded by the
// live-epoch window, not by the number of blocks replayed.
func TestSecDepartedRekeyReplay(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 77}, 4)
	a, b, c, x := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, x)
	ctx := context.Background()
	g := joinedGroup(t, tn, "replay", a, b, c, x)
	var forged [][]byte
	for i := range 24 {
		forged = append(forged, protocol.ForgedRekeyForTest(x.c, g, byte(i+1)))
	}
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle(a, b, c)
	waitSameEpoch(tn, g, a, b, c)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	before := protocol.RekeysForTest(a.c) + protocol.RekeysForTest(b.c) + protocol.RekeysForTest(c.c)
	for i, f := range forged {
		for _, p := range []*peer{a, b, c} {
			protocol.Inject(p.c, info.Topic, f)
		}
		tn.settle(a, b, c)
		// A key event nobody holds the seed of leaves the group without an epoch until
		// someone sends: that sender rekeys first.
		text := fmt.Sprint("after replay ", i)
		mustSend(t, b, g, text)
		waitTexts(t, tn, g, []string{text}, a, c)
		waitSameEpoch(tn, g, a, b, c)
	}
	after := protocol.RekeysForTest(a.c) + protocol.RekeysForTest(b.c) + protocol.RekeysForTest(c.c)
	t.Logf("%d replayed blocks cost %d rekeys", len(forged), after-before)
	// The epoch stays openable while it is live or its seeds are among the last
	// maxKeptSeeds = 6 kept (spec "Opening"): each heal is a key event.
	if bound := 8; after-before > bound {
		t.Errorf("%d replayed rekey blocks of a removed installation cost %d rekeys, want at most %d (the live-epoch window)", len(forged), after-before, bound)
	}
	mustSend(t, b, g, "after the replay")
	waitTexts(t, tn, g, []string{"after the replay"}, a, c)
	if x.texts(g)["after the replay"] != 0 {
		t.Error("the removed installation read a later message")
	}
}

// TestSecDepartedWelcome: a removed installation sends a member a Welcome v2 for the
// group, whose join claims a rekey of its own with a seed it chose. Only members'
// Welcomes are heard for a group we are in: the member's state does not change.
func TestSecDepartedWelcome(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 78}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	ctx := context.Background()
	g := joinedGroup(t, tn, "welcome", a, b, x)
	join, err := protocol.JoinForTest(x.c, g)
	must(t, err)
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b)
	tn.settle()
	_, f0, e0 := protocol.EpochInfo(b.c, g)
	digest := protocol.StateDigest(b.c)
	must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, join))
	tn.settle()
	if _, f1, e1 := protocol.EpochInfo(b.c, g); e1 != e0 || len(f1) != len(f0) {
		t.Errorf("a removed installation's Welcome moved b from epoch %x (frontier %d) to %x (frontier %d)", e0[:4], len(f0), e1[:4], len(f1))
	}
	if d := protocol.StateDigest(b.c); d != digest {
		t.Error("a removed installation's Welcome changed b's state")
	}
}

// TestSecKeyEventPrevChecked: a membership key event's prev set must agree with the
// event's causal past (spec "Key events"): an admin whose block claims a prev that leaves
// out the key events its own event descends from (here: none at all, so the removal of c
// would sit beside the add of d in every frontier instead of after it) is not heard; its
// members stay on their epoch and membership.
func TestSecKeyEventPrevChecked(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 79}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, d)
	ctx := context.Background()
	g := joinedGroup(t, tn, "prev", a, b, c)
	must(t, a.c.AddMembers(ctx, g, d.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, d)
	_, f0, e0 := protocol.EpochInfo(b.c, g)
	protocol.SetPrevHookForTest(a.c, func(epoch.Frontier) epoch.Frontier { return nil })
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	tn.settle()
	if _, f1, e1 := protocol.EpochInfo(b.c, g); e1 != e0 || len(f1) != len(f0) {
		t.Errorf("b applied a removal whose key block names no prev: epoch %x → %x, frontier %d → %d", e0[:4], e1[:4], len(f0), len(f1))
	}
	if info, err := b.c.Group(ctx, g); err != nil || !slices.Contains(info.Members, c.id) {
		t.Errorf("b applied the removal of a publish whose key block was refused (%v)", err)
	}
}

// TestRemovalInPartsNoSpeakerRekey: a removal whose key block is split over several
// publishes (large groups) excludes the removed installations as one in a single part
// does: nobody's next message carries a rekey.
func TestRemovalInPartsNoSpeakerRekey(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 80}, 6)
	tn.connect(tn.peers...)
	a, rest := tn.peers[0], tn.peers[1:]
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "parts", "", ids(rest...)...)
	must(t, err)
	tn.waitFor("joined", func() bool {
		for _, p := range rest {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, tn.peers...)
	protocol.SetFrameLimit(a.c, 1200)
	gone := rest[len(rest)-1]
	stay := tn.peers[:len(tn.peers)-1]
	before := map[*peer]int{}
	for _, p := range stay {
		before[p] = protocol.RekeysForTest(p.c)
	}
	must(t, a.c.RemoveMembers(ctx, g, gone.id))
	tn.settle()
	waitSameEpoch(tn, g, stay...)
	var texts []string
	for _, p := range stay {
		text := "after from " + p.name
		mustSend(t, p, g, text)
		texts = append(texts, text)
	}
	waitTexts(t, tn, g, texts, stay...)
	for _, p := range stay {
		if n := protocol.RekeysForTest(p.c) - before[p]; n != 0 {
			t.Errorf("%s rekeyed %d times after a removal in parts (the removal is the key event)", p.name, n)
		}
	}
}

// TestRevocationNoSpeakerRekey: a device revocation is the key event (the revoker's
// publish carries the key block that excludes the revoked installation), so no other
// member rekeys before its next message — also when the block is split in parts.
func TestRevocationNoSpeakerRekey(t *testing.T) {
	// 0: the block and the device list in one publish; 1300: d's device list and the
	// first slots in part 0, the other slots in further parts.
	for _, limit := range []int{0, 1300} {
		t.Run(fmt.Sprintf("frame-limit-%d", limit), func(t *testing.T) {
			tn := newEpochNet(t, memory.Config{Seed: 82}, 0)
			a, b, c, d := tn.add("a"), tn.add("b"), tn.add("c"), tn.add("d")
			others := []*peer{tn.add("e"), tn.add("f"), tn.add("g"), tn.add("h")}
			tn.connect(tn.peers...)
			d1 := tn.link(d, "d.1")
			ctx := context.Background()
			g, err := a.c.CreateGroup(ctx, "revoke", "", append(ids(b, c, d), ids(others...)...)...)
			must(t, err)
			all := append([]*peer{a, b, c, d, d1}, others...)
			tn.waitFor("everyone joined", func() bool {
				for _, p := range all {
					if _, err := p.c.Group(ctx, g); err != nil {
						return false
					}
				}
				return true
			})
			waitSameEpoch(tn, g, all...)
			if limit > 0 {
				protocol.SetFrameLimit(d.c, limit)
			}
			_, _, old := protocol.EpochInfo(a.c, g)
			stay := append([]*peer{a, b, c, d}, others...)
			before := map[*peer]int{}
			for _, p := range stay {
				before[p] = protocol.RekeysForTest(p.c)
			}
			must(t, d.c.RevokeInstallation(ctx, installationOf(t, d1)))
			tn.settle()
			// The revocation's key block moves everyone off the epoch d.1 held.
			tn.waitFor("rekeyed past the revocation", func() bool {
				for _, p := range stay {
					if _, _, cur := protocol.EpochInfo(p.c, g); cur == old {
						return false
					}
				}
				return true
			})
			waitSameEpoch(tn, g, stay...)
			var texts []string
			for _, p := range stay {
				text := "after the revocation from " + p.name
				mustSend(t, p, g, text)
				texts = append(texts, text)
			}
			waitTexts(t, tn, g, texts, stay...)
			for _, p := range stay {
				want := 0
				if p == d {
					want = 1 // the revocation's own key block
				}
				if n := protocol.RekeysForTest(p.c) - before[p]; n != want {
					t.Errorf("%s rekeyed %d times for the revocation, want %d (the revocation is the key event)", p.name, n, want)
				}
			}
		})
	}
}
