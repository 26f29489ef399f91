package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix28RefusedSeedHealWriteFails: healRefused (a seed we refused: we rekey at once)
// swallowed an error of rekeyV2 (a Warn, then nil). rekeyV2 stores our new key event in
// the schedule and the group state before queueFrames writes its key block to the outbox;
// with that write failing, the heal's transaction committed a frontier holding our key
// event whose block was never queued: we were on an epoch no one else holds, and sealed
// our next messages under it.
//
// Scene: a, b, v, c share a group; v's outbox writes fail (plain: the transaction's own
// error; store: storage.ErrUnavailable); b rekeys with a made-up seed in v's slot (the key
// confirmation fails: v refuses it and heals at once). Asserted while writes fail: v has
// tried to heal (an outbox write failed) and every event of v's frontier is one a holds
// (nothing of the failed heal committed). Once writes work: the group heals without v
// sending (its failed heal retried after the backoff, the refusal it was for kept with
// it): a's frontier moves past b's rekey, a, b, c and v reach one epoch, and v and a read
// each other.
//
// Measured before the fix: both modes fail — v's frontier holds its own rekey (1 failed
// write), a's does not; once writes work v stays on that epoch (a, b, c on b's) for the
// 30 s wait: v's heal was committed without its block, and nothing retries it.
func TestFix28RefusedSeedHealWriteFails(t *testing.T) {
	for _, mode := range []string{"plain", "store"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			tn := newNetWith(t, memory.Config{Seed: 2801}, 4, protocol.WithEpochs(true),
				protocol.WithHealGrace(300*time.Millisecond), protocol.WithRetryBackoff(100*time.Millisecond))
			a, b, v, c := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
			tn.connect(a, b, v, c)
			g, err := a.c.CreateGroup(ctx, "fix28", "", b.id, v.id, c.id)
			must(t, err)
			tn.settle()
			waitSameEpoch(tn, g, a, b, v, c)
			set, failed := protocol.FailOutboxWritesForTest(v.c, mode == "plain")
			set(true)
			badSeedFor(t, b, v)
			must(t, b.c.Rekey(ctx, g))
			badSeedFor(t, b, nil)
			waitFor(t, 10*time.Second, "v tried to heal (an outbox write failed)", func() bool { return failed() > 0 })
			tn.settle(a, b, c)
			waitSameEpoch(tn, g, a, b, c)
			time.Sleep(200 * time.Millisecond) // the failing heal retried meanwhile, if at all
			_, fa, _ := protocol.EpochInfo(a.c, g)
			_, fv, _ := protocol.EpochInfo(v.c, g)
			t.Logf("%s: %d outbox writes failed; a's frontier %d events, v's %d", mode, failed(), len(fa), len(fv))
			for _, id := range fv {
				if !slices.Contains(fa, id) {
					t.Errorf("%s: v's frontier holds a key event a does not (its own, its block never queued): a failed heal committed", mode)
				}
			}
			start := time.Now()
			set(false)
			waitFor(t, 15*time.Second, "a's frontier moved past b's rekey (v's heal came)", func() bool {
				_, f, _ := protocol.EpochInfo(a.c, g)
				return !slices.Equal(f, fa)
			})
			t.Logf("%s: v healed %v after writes came back", mode, time.Since(start).Round(10*time.Millisecond))
			tn.settle()
			waitSameEpoch(tn, g, a, b, v, c)
			mustSend(t, v, g, "v after the heal")
			mustSend(t, a, g, "a after the heal")
			waitTexts(t, tn, g, []string{"v after the heal"}, a, b, c)
			waitTexts(t, tn, g, []string{"a after the heal"}, v)
		})
	}
}
