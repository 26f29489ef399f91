package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview21OverdueHealForgotten: afc0d59's overdue heal keeps its clock (groupCache's
// overdue, overdueRank) in memory only, noted by healV2 when a receive finds the epoch
// unhealed and us not designated. Anything that rebuilds the caches forgets it — a
// restart (a phone app killed and started again), and every reload (a failed batch
// commit, a batch transaction failing at the store, a panic, a stale rebuild: reload.go
// replaces c.groups) — and nothing notes it again: healV2 runs only when something is
// applied, and a group whose designated installation is away is quiet. The group then
// stays on the unhealed epoch for good, the case afc0d59 was made for (a member reading,
// not writing, is left on it; a newcomer missed by a departed member's block never gets
// its Welcome: TestReview14ConcurrentAddFillsRecords).
//
// Scene: des (the smallest installation id), cand, x; cand creates the group; des is
// paused; x leaves; once cand has applied the leave (and noted its overdue heal, rank 1,
// grace 300 ms), cand restarts ("restart") or its caches are rebuilt by a Sync whose batch
// fails at the store ("reload"); control: nothing happens to cand. Asserted: within 3 s
// (10 graces) cand's epoch moves past the leave's (its overdue heal).
//
// Measured on main d0ae2c5: control passes (healed in ≈0.3 s); "restart" and "reload" fail
// (still on the leave's epoch after 3 s), 3 of 3 runs each.
func TestReview21OverdueHealForgotten(t *testing.T) {
	for _, mode := range []string{"control", "restart", "reload"} {
		t.Run(mode, func(t *testing.T) {
			tn := newNetWith(t, memory.Config{Seed: 2102}, 0, protocol.WithEpochs(true), protocol.WithHealGrace(300*time.Millisecond))
			ps := []*peer{tn.addPersistent("p0"), tn.addPersistent("p1"), tn.addPersistent("p2")}
			slices.SortFunc(ps, func(x, y *peer) int {
				a, b := installationOf(t, x), installationOf(t, y)
				return bytes.Compare(a[:], b[:])
			})
			des, cand, x := ps[0], ps[1], ps[2]
			tn.connect(ps...)
			ctx := context.Background()
			g, err := cand.c.CreateGroup(ctx, "forgotten", "", des.id, x.id)
			must(t, err)
			waitSameEpoch(tn, g, cand, des, x)
			des.pause() // the designated installation is away
			must(t, x.c.Leave(ctx, g))
			tn.waitFor("the leave applied", func() bool {
				info, err := cand.c.Group(ctx, g)
				return err == nil && !slices.Contains(info.Members, x.id)
			})
			_, left, _ := protocol.EpochInfo(cand.c, g)
			switch mode {
			case "restart":
				cand.restart()
			case "reload":
				cand.pause()
				failNext := protocol.FailNextBatchTxsForTest(cand.c)
				failNext(1)
				err := cand.c.Sync(ctx)
				t.Logf("cand's Sync with a batch transaction failing at the store: %v", err)
				cand.dev.Run = chorustest.Start(ctx, cand.c, cand.dev.Events) // Run again on the same client
				cand.refresh()
			}
			start := time.Now()
			deadline := start.Add(3 * time.Second)
			healed := false
			for !healed && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				_, f, _ := protocol.EpochInfo(cand.c, g)
				healed = !slices.Equal(f, left)
			}
			t.Logf("%s: cand healed: %v after %v", mode, healed, time.Since(start).Round(10*time.Millisecond))
			if !healed {
				t.Errorf("%s: cand still on the leave's epoch 3 s (10 heal graces) after it: its overdue heal was forgotten", mode)
			}
		})
	}
}
