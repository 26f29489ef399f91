package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix26HealFailureKeepsReceive: the heal the designated installation makes when it
// applies a leave (healLater, run by runTx) ran inside the receive's own transaction, after
// its work. A heal that failed (here its key block's outbox write: a full disk, or an error
// of the transaction's own) failed the whole transaction: the leave, the messages, their
// replay markers — and in a Sync or live batch every envelope of it, of other groups too.
//
// Scene: des (the designated installation), admin, other and x share group g; des, admin
// and other share group h. des, admin and other are away (Run stopped); x leaves g, admin
// sends "g-after" in g (under the epoch before the leave: it has not seen it) and other
// sends "h-after" in h. des comes back with every outbox write failing: its catch-up Sync
// brings the three in one batch, and the leave makes des heal (it is designated), which
// fails. "live": des stays, its outbox writes failing: the three come to it live.
//
// Asserted, while the failure lasts: des has tried to heal (an outbox write failed: the
// scene happened), applied the leave, and read "g-after" and "h-after". Once the failure
// ends: des heals (its frontier moves past the leave) within 10 s (the back-off is 0.3 s,
// doubling) — "restart": des restarts instead, as after a crash between the receive's
// commit and its heal's (the backoff in memory lost): the heal comes by the scan after the
// caches are built (healScan) — admin and other follow it, and x reads nothing sent after ("post-heal"), even
// fed every envelope of g's topic.
//
// Measured before the fix: "store" (the outbox write fails as the store: the batch failed,
// nothing of it kept, tried again by every Sync and failing again) — des never applied the
// leave nor read either message while failing (timeout); "plain" (the transaction's own
// error: the envelope dropped with its replay marker) — des read "h-after" and "g-after"
// but never applied the leave, for good. After: all three at once in both modes, healed
// within the back-off once the disk is back (0.3 s), and 0.1 s after the restart. "live"
// (added with the fix; measured on the code before it): the messages read, one by one, but
// the leave never applied, its transaction failing at each Sync (88 failed writes in 5 s).
func TestFix26HealFailureKeepsReceive(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		plain, restart, live bool
	}{{"store", false, false, false}, {"plain", true, false, false}, {"restart", true, true, false}, {"live", false, false, true}} {
		t.Run(tc.name, func(t *testing.T) { fix26HealFailureKeepsReceive(t, tc.plain, tc.restart, tc.live) })
	}
}

func fix26HealFailureKeepsReceive(t *testing.T, plain, restart, live bool) {
	tn := newNetWith(t, memory.Config{Seed: 2601}, 0, protocol.WithEpochs(true),
		protocol.WithHealGrace(300*time.Millisecond), protocol.WithRetryBackoff(100*time.Millisecond))
	for i := range 4 {
		tn.addPersistent(fmt.Sprintf("p%d", i)) // restart: des reopens its store
	}
	ps := byInstallation(t, tn.peers)
	des, admin, other, x := ps[0], ps[1], ps[2], ps[3]
	tn.connect(ps...)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "fix26-g", "", des.id, other.id, x.id)
	must(t, err)
	h, err := admin.c.CreateGroup(ctx, "fix26-h", "", des.id, other.id)
	must(t, err)
	waitSameEpoch(tn, g, admin, des, other, x)
	waitSameEpoch(tn, h, admin, des, other)
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	tp := newTapTB(t, tn.net, info.Topic)
	set, failed := protocol.FailOutboxWritesForTest(des.c, plain)

	if live {
		set(true) // des stays: each envelope comes to it live
	} else {
		des.pause()
	}
	admin.pause()
	other.pause()
	must(t, x.c.Leave(ctx, g))
	mustSend(t, admin, g, "g-after")
	mustSend(t, other, h, "h-after")

	if !live {
		set(true)
		des.dev.Run = chorustest.Start(ctx, des.c, des.dev.Events) // back: catch-up in one batch
		des.refresh()
	}
	applied := func() bool {
		info, err := des.c.Group(ctx, g)
		return err == nil && !slices.Contains(info.Members, x.id)
	}
	deadline := time.Now().Add(5 * time.Second)
	var syncErr error
	for time.Now().Before(deadline) && !(applied() && des.texts(g)["g-after"] > 0 && des.texts(h)["h-after"] > 0) {
		time.Sleep(50 * time.Millisecond)
		if err := des.c.Sync(ctx); err != nil && syncErr == nil {
			syncErr = err
		}
	}
	n := failed()
	t.Logf("failing: outbox writes failed %d, leave applied %v, read g-after %v, h-after %v; first Sync error: %v",
		n, applied(), des.texts(g)["g-after"] > 0, des.texts(h)["h-after"] > 0, syncErr)
	if n == 0 {
		t.Fatal("des never tried to heal while its outbox writes failed: the scene did not happen")
	}
	if !applied() {
		t.Error("des did not apply x's leave while its heal failed")
	}
	if des.texts(g)["g-after"] == 0 {
		t.Error("des did not read g-after (group g) while its heal failed")
	}
	if des.texts(h)["h-after"] == 0 {
		t.Error("des did not read h-after (another group) while its heal failed")
	}
	if t.Failed() {
		return
	}
	_, left, _ := protocol.EpochInfo(des.c, g)

	start := time.Now()
	if restart {
		des.restart() // the failed heal's backoff, in memory, is gone: healScan looks again
	} else {
		set(false)
	}
	waitFor(t, 10*time.Second, "des healed once the disk is back", func() bool {
		_, f, _ := protocol.EpochInfo(des.c, g)
		return !slices.Equal(f, left)
	})
	t.Logf("des healed %v after the disk came back (or des restarted)", time.Since(start).Round(10*time.Millisecond))

	for _, p := range []*peer{admin, other} {
		p.dev.Run = chorustest.Start(ctx, p.c, p.dev.Events)
		p.refresh()
	}
	waitSameEpoch(tn, g, des, admin, other)
	mustSend(t, admin, g, "post-heal")
	waitTexts(t, tn, g, []string{"post-heal"}, des, other)
	for _, e := range tp.all() {
		protocol.Inject(x.c, e.Topic, e.Payload)
	}
	tn.settle(x)
	if x.texts(g)["post-heal"] != 0 {
		t.Error("x read post-heal, sent after it left")
	}
}
