package protocol_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview21SyncFailurePublishesUnsyncedLease: the first seal of an epoch (and every seal
// reaching the lease) moves the sender lease and asks its transaction to be synced "before
// anything it sealed is published" (spec: persistence, "Durability"). When the sync fails
// after the commit (persistence's WithTx: the commit went through, the checkpoint did not:
// another connection's reader, an fsync error), d26e2d0 takes it for a store failure: Send
// returns the error, the caches are rebuilt — from a store that kept the transaction, its
// outbox record included — and the outbox retry publishes the message, its lease never
// synced. A power loss then loses the lease and the chain: the next send after the restart
// starts the epoch's chain again and seals the same iteration (same message key, same
// nonce) for another plaintext; b, holding m1 at that iteration, drops m2. (Not new in
// d26e2d0 — before it the Send failed the same way — but its reading, "whether the store
// kept it is not known", is where the rule breaks: what such a transaction queued is
// published later by the retry loop, by any due record's turn, with no sync in between.
// The stale reload also forgets resumedEpochs, so the next seal of any group syncs again:
// a send in another group after the failure closes the window, which is why "other" goes
// first here.) The Send's caller, told it failed, may also send the text again: a second
// copy delivered.
//
// Scene: a (file store, everything checkpointed, its chain of another group g2 in use)
// sends "other" in g2 (no sync asked) while its publishes fail (the network, a moment:
// the record waits for the retry loop), then "m1" in g whose sync fails once
// ("unsynced"; control "synced": no failure); the retry loop publishes both; b reads
// both; power loss (the database file as at the last sync, no WAL), restart, a sends
// "m2". Asserted: no (epoch, installation, iteration) sealed twice on the group topic;
// b reads m2.
//
// Measured on main d0ae2c5: "unsynced" fails (Send errs, "m1" published by the retry and
// read by b, iteration 0 sealed twice, b reads m2 0 times), 4 of 4 runs; "synced" passes
// (m2 at iteration 256, above the synced lease), 4 of 4.
func TestReview21SyncFailurePublishesUnsyncedLease(t *testing.T) {
	for _, mode := range []string{"synced", "unsynced"} {
		t.Run(mode, func(t *testing.T) {
			tn := newEpochNet(t, memory.Config{Seed: 2104}, 0)
			a := tn.addPersistent("a")
			b := tn.add("b")
			tn.connect(a, b)
			ctx := context.Background()
			g, err := a.c.CreateGroup(ctx, "durable", "", b.id)
			must(t, err)
			g2, err := a.c.CreateGroup(ctx, "other", "", b.id)
			must(t, err)
			tn.settle()
			waitSameEpoch(tn, g, a, b)
			waitSameEpoch(tn, g2, a, b)
			mustSend(t, a, g2, "warm") // a's chain of g2 in use: its next seal asks no sync
			tn.waitFor("b reads warm", func() bool { return b.texts(g2)["warm"] == 1 })
			info, err := a.c.Group(ctx, g)
			must(t, err)
			tp := newTap(t, tn.net, info.Topic)
			checkpoint(t, a.path) // everything so far in the database file
			a.pause()
			failSync := protocol.FailNextSyncsForTest(a.c)
			a.dev.Run = chorustest.Start(ctx, a.c, a.dev.Events)
			a.refresh()
			// A publish failing for a moment (the network): its record waits in the
			// outbox for the retry loop, which takes every due record when it runs.
			a.failPublish.Store(true)
			mustSend(t, a, g2, "other") // a's chain of g2 in use: no sync asked
			if mode == "unsynced" {
				failSync(1)
			}
			_, err = a.c.Send(ctx, g, protocol.Text("m1"))
			t.Logf("%s: Send m1: %v", mode, err)
			a.failPublish.Store(false)
			tn.waitFor("b reads m1 and other", func() bool { return b.texts(g)["m1"] == 1 && b.texts(g2)["other"] == 1 })
			// Power loss: what was not synced is gone.
			crash := filepath.Join(t.TempDir(), "crash.db")
			copyFile(t, a.path, crash)
			protocol.ReportSyncsForTest(a.c, t)
			a.stop()
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(a.path + suffix); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			copyFile(t, crash, a.path)
			a.start(false)
			n := len(tp.all())
			mustSend(t, a, g, "m2")
			tn.waitFor("m2 published", func() bool { return len(tp.all()) > n })
			tn.settle(a, b)
			sealed := map[string]string{}
			for _, e := range tp.all() {
				msg := protocol.GroupFrameMessage(b.c, g, e.Payload)
				if msg == nil {
					continue
				}
				key, _, _ := protocol.GroupFrameInfo(b.c, g, e.Payload)
				h, err := epoch.ParseMessageHeader(msg)
				if err != nil {
					t.Fatal(err)
				}
				k := fmt.Sprintf("%x/%x/%d", key, h.Installation, h.Iteration)
				if prev, ok := sealed[k]; ok && prev != string(msg) {
					t.Errorf("%s: epoch %x installation %x iteration %d sealed twice (one message key, one nonce, two plaintexts)", mode, key, h.Installation[:4], h.Iteration)
				}
				sealed[k] = string(msg)
				t.Logf("%s: sealed %s", mode, k)
			}
			t.Logf("%s: %d distinct messages sealed on the group topic; b read %v", mode, len(sealed), b.texts(g))
			if got := b.texts(g); got["m2"] != 1 {
				t.Errorf("%s: b read m2 %d times, want 1", mode, got["m2"])
			}
		})
	}
}
