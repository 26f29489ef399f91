package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview26HealBatchTwoGroups (review 26, scene 3 of the brief, second half) — a batch
// (a catch-up Sync) bringing departures in two groups, des designated in both, whose heals
// run after the batch's commit, each in its own transaction (healAfter). The first heal
// fails; healAfter then backs that group off (healFailed) and — a store error — breaks,
// leaving the other group's heal to the scan after a reload (healScan), with no backoff
// recorded for it. Modes: "store" (every outbox write fails as the store: storage
// unavailable) and "plain" (the transaction's own error: healAfter continues to the next
// group, which fails too).
//
// Scene (TestFix26HealFailureKeepsReceive's, x in both groups): des, admin, other, x share
// g and h. des, admin, other are away; x leaves g and h; admin sends "g-after" in g and
// other "h-after" in h. des comes back with its outbox writes failing: its catch-up brings
// both leaves and both texts. Asserted while failing: des applied both leaves and read both
// texts. Once writes work: des heals BOTH groups within 10 s (its frontiers move past the
// leaves), admin and other follow, and x, fed every envelope of both topics, reads nothing
// sent after.
//
// Measured (review26 = main af1df7a): a PASSING regression test — both modes: 2 outbox
// writes failed, both leaves applied and both texts read while failing, both groups healed
// 0.31-0.49 s after writes came back; 3 of 3 plain runs; under -race 28 of 30 mode runs
// pass, 2 "store" runs failed at SETUP ("des never tried to heal": 0 outbox writes failed) —
// the wait below ended as soon as both leaves and texts were in, before the heal (due after
// the heal grace) had tried its write; it now also waits for that first failed write.
func TestReview26HealBatchTwoGroups(t *testing.T) {
	for _, mode := range []string{"store", "plain"} {
		t.Run(mode, func(t *testing.T) {
			plain := mode == "plain"
			tn := newNetWith(t, memory.Config{Seed: 2632}, 0, protocol.WithEpochs(true),
				protocol.WithHealGrace(300*time.Millisecond), protocol.WithRetryBackoff(100*time.Millisecond))
			for i := range 4 {
				tn.addPersistent(fmt.Sprintf("p%d", i))
			}
			ps := byInstallation(t, tn.peers)
			des, admin, other, x := ps[0], ps[1], ps[2], ps[3]
			tn.connect(ps...)
			ctx := context.Background()
			g, err := admin.c.CreateGroup(ctx, "r26-g", "", des.id, other.id, x.id)
			must(t, err)
			h, err := admin.c.CreateGroup(ctx, "r26-h", "", des.id, other.id, x.id)
			must(t, err)
			waitSameEpoch(tn, g, admin, des, other, x)
			waitSameEpoch(tn, h, admin, des, other, x)
			var taps []*tap
			for _, id := range []protocol.GroupID{g, h} {
				info, err := admin.c.Group(ctx, id)
				must(t, err)
				taps = append(taps, newTapTB(t, tn.net, info.Topic))
			}
			set, failed := protocol.FailOutboxWritesForTest(des.c, plain)
			des.pause()
			admin.pause()
			other.pause()
			must(t, x.c.Leave(ctx, g))
			must(t, x.c.Leave(ctx, h))
			mustSend(t, admin, g, "g-after")
			mustSend(t, other, h, "h-after")
			set(true)
			des.dev.Run = chorustest.Start(ctx, des.c, des.dev.Events)
			des.refresh()
			left := func(id protocol.GroupID) bool {
				info, err := des.c.Group(ctx, id)
				return err == nil && !slices.Contains(info.Members, x.id)
			}
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && !(left(g) && left(h) && des.texts(g)["g-after"] > 0 && des.texts(h)["h-after"] > 0 && failed() > 0) {
				time.Sleep(50 * time.Millisecond)
				_ = des.c.Sync(ctx)
			}
			t.Logf("%s failing: outbox writes failed %d; left g %v h %v; read g-after %v h-after %v", mode, failed(), left(g), left(h),
				des.texts(g)["g-after"] > 0, des.texts(h)["h-after"] > 0)
			if failed() == 0 {
				t.Fatal("des never tried to heal while its outbox writes failed: the scene did not happen")
			}
			if !left(g) || !left(h) || des.texts(g)["g-after"] == 0 || des.texts(h)["h-after"] == 0 {
				t.Fatal("des did not take the batch while its heals failed")
			}
			_, fg, _ := protocol.EpochInfo(des.c, g)
			_, fh, _ := protocol.EpochInfo(des.c, h)
			start := time.Now()
			set(false)
			healed := func(id protocol.GroupID, before []epoch.ID) bool {
				_, f, _ := protocol.EpochInfo(des.c, id)
				return !slices.Equal(f, before)
			}
			deadline = time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) && !(healed(g, fg) && healed(h, fh)) {
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("%s: after %v, healed g %v h %v (outbox writes failed %d)", mode, time.Since(start).Round(10*time.Millisecond), healed(g, fg), healed(h, fh), failed())
			if !healed(g, fg) || !healed(h, fh) {
				t.Fatalf("%s: des did not heal both groups within 10 s of the disk coming back (g %v, h %v)", mode, healed(g, fg), healed(h, fh))
			}
			for _, p := range []*peer{admin, other} {
				p.dev.Run = chorustest.Start(ctx, p.c, p.dev.Events)
				p.refresh()
			}
			waitSameEpoch(tn, g, des, admin, other)
			waitSameEpoch(tn, h, des, admin, other)
			mustSend(t, admin, g, "post-heal g")
			mustSend(t, admin, h, "post-heal h")
			waitTexts(t, tn, g, []string{"post-heal g"}, des, other)
			waitTexts(t, tn, h, []string{"post-heal h"}, des, other)
			for _, tp := range taps {
				for _, e := range tp.all() {
					protocol.Inject(x.c, e.Topic, e.Payload)
				}
			}
			tn.settle(x)
			if x.texts(g)["post-heal g"] != 0 || x.texts(h)["post-heal h"] != 0 {
				t.Error("x read a text sent after it left")
			}
		})
	}
}
