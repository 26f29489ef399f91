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

// TestReview21OverdueClockNotReset: healV2 notes since when it waits for the designated
// installation's heal (gc.overdue) only if none is noted, and clears it only when it finds
// the epoch healed or heals itself — but a receive of the designated installation's heal
// returns early at outranked (a smaller installation with no gap: no heal check), so the
// note outlives the heal it waited for. The next departure within the grace finds the old
// clock running: the candidate heals at first note + rank × grace, not one grace after
// this departure, while the designated installation, present, is healing it too: two O(N)
// rekeys for one leave (any member leaving, an admin removing two members a moment apart).
//
// Scene: network delay 300 ms, grace 1 s; des (smallest id), c1, x1, x2. x1 leaves; c1
// notes its overdue heal at T0 (rank 1); des's heal reaches c1. x2 leaves at T0 + 0.55 s
// ("stale"; control "later": at T0 + 1.55 s, once c1's healDue found the epoch healed and
// cleared the note). Asserted: c1 authors no rekey within 3 s (des, online, heals both
// leaves within 2 network delays; c1's grace is 1 s).
//
// Measured on main d0ae2c5: "stale" fails (c1 rekeyed once, ≈0.15 s after it applied x2's
// leave; its note from x1's leave still set after des's heal), 7 of 7 runs; "later"
// passes (0 rekeys by c1), 3 of 3.
func TestReview21OverdueClockNotReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Duration // x2's leave, after c1's note of x1's
	}{
		{"stale", 550 * time.Millisecond},
		{"later", 1550 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The scene needs c1 to apply x1's leave before des's heal of it (c1 notes its
			// overdue heal then) and des's heal to reach c1 within c1's grace; on a loaded
			// machine c1 may take both at once and never note, or heal first: the scene is
			// tried again, up to 3 times.
			for try := range 3 {
				if review21OverdueStaleScene(t, tc.at) {
					return
				}
				t.Logf("try %d: not the scene (above): again", try+1)
			}
			t.Fatal("3 tries: the scene (c1 notes its overdue heal of x1's leave, des's heal reaches it within c1's grace) never came about")
		})
	}
}

// review21OverdueStaleScene is TestReview21OverdueClockNotReset's scene with x2's leave
// at T0 + at; false if the scene did not come about (nothing asserted): c1 never noted its
// overdue heal of x1's leave, or des's heal of it did not reach c1 within c1's grace.
func review21OverdueStaleScene(t *testing.T, at time.Duration) bool {
	name := "stale"
	if at > time.Second {
		name = "later"
	}
	{
		{
			const grace = time.Second
			tn := newNetWith(t, memory.Config{Seed: 2103, Delay: 300 * time.Millisecond}, 4, protocol.WithEpochs(true), protocol.WithHealGrace(grace))
			ps := slices.Clone(tn.peers)
			slices.SortFunc(ps, func(x, y *peer) int {
				a, b := installationOf(t, x), installationOf(t, y)
				return bytes.Compare(a[:], b[:])
			})
			des, c1, x1, x2 := ps[0], ps[1], ps[2], ps[3]
			tn.connect(ps...)
			ctx := context.Background()
			g, err := c1.c.CreateGroup(ctx, "stale", "", des.id, x1.id, x2.id)
			must(t, err)
			waitSameEpoch(tn, g, c1, des, x1, x2)
			before, desBefore := protocol.RekeysForTest(c1.c), protocol.RekeysForTest(des.c)
			must(t, x1.c.Leave(ctx, g))
			var t0 time.Time
			for end := time.Now().Add(3 * time.Second); t0.IsZero(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(end) {
					return false
				}
				t0, _ = protocol.OverdueForTest(c1.c, g)
			}
			_, left1, _ := protocol.EpochInfo(c1.c, g)
			for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if protocol.RekeysForTest(c1.c) > before {
					// des's heal came later than c1's grace (a loaded machine): c1 healed
					// x1's leave itself, as it should; not the scene.
					t.Logf("c1 healed x1's leave itself (des's heal later than its grace)")
					return false
				}
				_, f, _ := protocol.EpochInfo(c1.c, g)
				if protocol.RekeysForTest(des.c) > desBefore && !slices.Equal(f, left1) {
					break
				}
				if time.Now().After(end) {
					t.Logf("des's heal of x1's leave did not reach c1 within 5 s")
					return false
				}
			}
			note, rank := protocol.OverdueForTest(c1.c, g)
			t.Logf("des's heal reached c1 %v after c1's note; c1's note now: set %v (rank %d)", time.Since(t0).Round(time.Millisecond), !note.IsZero(), rank)
			time.Sleep(time.Until(t0.Add(at)))
			must(t, x2.c.Leave(ctx, g))
			var applied time.Time
			waitFor(t, 5*time.Second, "c1 applies x2's leave", func() bool {
				info, err := c1.c.Group(ctx, g)
				if err == nil && !slices.Contains(info.Members, x2.id) {
					applied = time.Now()
					return true
				}
				return false
			})
			var healedAt time.Time
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if healedAt.IsZero() && protocol.RekeysForTest(c1.c) > before {
					healedAt = time.Now()
				}
			}
			n := protocol.RekeysForTest(c1.c) - before
			first := "none"
			if !healedAt.IsZero() {
				first = healedAt.Sub(applied).Round(10 * time.Millisecond).String()
			}
			t.Logf("%s: x2's leave at T0+%v; c1 rekeyed %d times (the first %s after it applied x2's leave); des %d", name, at,
				n, first, protocol.RekeysForTest(des.c)-desBefore)
			if n != 0 {
				t.Errorf("%s: c1 (rank 1, grace %v) rekeyed %d times while des, online, healed both leaves: its overdue clock of x1's leave was still running", name, grace, n)
			}
		}
	}
	return true
}
