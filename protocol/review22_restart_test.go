package protocol_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestReview22UnsyncedForgottenByRestart — fix21 (ea3146c, c74afaf) keeps a commit whose
// sync failed from leaving the process until a later transaction has synced it: the store's
// unsynced flag (persistence) and the client's notDurable (protocol) live in memory only.
// A restart — the app closed, or killed, while another connection's reader still holds the
// checkpoint back — forgets both: persistence.Open does not sync, the new store's first
// transaction begins without syncing, and the retry loop publishes the outbox record sealed
// under the lease that was never synced (with synchronous=NORMAL the WAL is synced by a
// checkpoint only). A power loss after that restarts the epoch's chain below the published
// iteration: TestReview21SyncFailurePublishesUnsyncedLease's nonce reuse, one restart away.
//
// Scene: TestReview21SyncFailurePublishesUnsyncedLease's: a (file store) and b in g and g2;
// another connection holds a read transaction on a's database; a sends m1 in g (a fresh
// chain: its lease's sync fails, ErrNotDurable; nothing published, as fix21 wants); then
// ("restart") a is stopped and started again, the reader still held; the retry loop runs
// one turn, driven (a's Run halted, m1's outbox record due, protocol.RetryDueForTest). If
// nothing was published, the reader goes, the loop's next turn syncs then publishes m1, b
// reads it, and the power-loss copy is taken again (it holds m1's lease). Power loss: a's
// database file without its WAL (the frames the checkpoint never copied nor synced); a
// sends m2 in g. Asserted: no (epoch, installation, iteration) sealed twice on g's topic,
// and b reads m2. Control "none": no restart (the reader released, then the next
// transaction syncs before anything is published).
// Measured (main f7376e8): "restart" fails — m1 published by the restarted client's retry
// loop while the reader is still held (1 publish), and after the power loss m2 sealed at
// iteration 0 of the same epoch and installation (two plaintexts under one key and nonce),
// b reads m2 0 times, 4 of 4 runs; "none" passes (m1 published only after the reader is
// released and the next transaction synced; m2 at iteration 256), 4 of 4.
// Until tidy20 "restart" skipped when nothing was published while the reader was held —
// always, with the fix (c8b4ddd: persistence.Open syncs first): its assertion never ran.
// Now driven, it always reaches it: passes 10 of 10 with the fix; with Open's sync removed,
// fails 3 of 3 (m1 published while held, iteration 0 sealed twice, b reads m2 0 times).
func TestReview22UnsyncedForgottenByRestart(t *testing.T) {
	for _, mode := range []string{"none", "restart"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, g, _ := durableScene(t, 2206)
			ctx := context.Background()
			info, err := a.c.Group(ctx, g)
			must(t, err)
			tp := newTap(t, tn.net, info.Topic)
			checkpoint(t, a.path) // everything so far in the database file
			release := holdWALReader(t, a.path)
			n0 := len(tp.all())
			_, err = a.c.Send(ctx, g, protocol.Text("m1"))
			t.Logf("%s: Send m1: %v", mode, err)
			if err != nil {
				t.Fatalf("precondition: Send m1: %v", err)
			}
			time.Sleep(300 * time.Millisecond)
			if n := len(tp.all()) - n0; n != 0 {
				t.Fatalf("precondition: %d publishes on g's topic before the restart", n)
			}
			// Power loss later: only the database file is kept (the WAL never synced).
			crash := filepath.Join(t.TempDir(), "crash.db")
			copyFile(t, a.path, crash)
			if mode == "restart" {
				a.restart()
			}
			// The retry loop's turn, driven: Run halted (no turn of its own after this),
			// m1's outbox record due, then one turn while the reader is held.
			a.pause()
			time.Sleep(time.Until(outboxDue(t, a, info.Topic)))
			protocol.RetryDueForTest(a.c)
			if outboxWaiting(a, info.Topic) == 0 { // m1 left: wait for the tap to see it
				tn.waitFor("m1 on the tap", func() bool { return len(tp.all()) > n0 })
			}
			published := len(tp.all()) - n0
			t.Logf("%s: %d publishes on g's topic while the reader is held (after the restart: %v)", mode, published, mode == "restart")
			if published == 0 {
				// The reader goes; the retry loop's next turn syncs in its transaction, then
				// m1 leaves: the file then holds m1's lease, and the copy is taken again.
				release()
				protocol.RetryDueForTest(a.c)
				tn.waitFor("b reads m1", func() bool { return b.texts(g)["m1"] == 1 })
				copyFile(t, a.path, crash)
			}
			a.stop()
			release()
			powerLossResend(t, tn, a, b, g, tp, crash, mode)
		})
	}
}

// outboxDue returns when p's unpublished outbox records on topic are all due (their latest
// next attempt); it fails the test if there is none.
func outboxDue(t *testing.T, p *peer, topic string) time.Time {
	t.Helper()
	var due time.Time
	for _, r := range protocol.Waiting(p.c) {
		if r.Topic == topic && r.NextAttempt.After(due) {
			due = r.NextAttempt
		}
	}
	if due.IsZero() {
		t.Fatalf("%s: no unpublished outbox record on the group topic", p.name)
	}
	return due
}

// outboxWaiting counts p's unpublished outbox records on topic.
func outboxWaiting(p *peer, topic string) int {
	n := 0
	for _, r := range protocol.Waiting(p.c) {
		if r.Topic == topic {
			n++
		}
	}
	return n
}
