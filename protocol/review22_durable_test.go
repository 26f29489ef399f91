package protocol_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestReview22ReaderStallsEveryTransaction — fix21 (ea3146c) syncs a commit whose sync
// failed before the next transaction begins, and fails that transaction
// (storage.ErrUnavailable) until it can (persistence unsyncedFirst). persistence's sync is
// a PASSIVE checkpoint, which cannot complete while another connection holds a read
// transaction begun before the commit: any other process reading the database — a backup
// (sqlite3 .backup), a replication tool that keeps a read transaction open by design
// (Litestream), a second tool — turns one failed sync into a client whose every
// transaction fails for as long as that reader lives: nothing received is stored (live or
// Sync), nothing sent, the retry loop and heals stopped (by the code before ea3146c, the
// failed sync failed its own transaction only). The commit needing no sync (receiving, sending on a chain in use)
// would be as durable as it ever is in WAL with synchronous=NORMAL.
//
// Scene: a (file store) and b in groups g and g2, a's chain of g2 in use. Another
// connection begins a read transaction on a's database ("held"), a sends m1 in g (a new
// chain: its lease asks a sync, which fails: ErrNotDurable), then b sends b1 in g2 and a
// sends m2 in g2 (no sync asked). Asserted, the reader still held: a reads b1 within 2 s
// and a's Send m2 succeeds. Control "none": the same with no reader.
// Measured (main f7376e8): "held" fails — a reads b1 0 times in 2 s (its own Messages
// call fails too), Send m2: "store unavailable: an earlier commit is not durable yet:
// persistence: sync: checkpoint incomplete (0 of 10 frames)", 3 of 3 runs; a reads b1 once
// the reader is released; "none" passes (b1 read in ~20 ms), 3 of 3.
func TestReview22ReaderStallsEveryTransaction(t *testing.T) {
	for _, mode := range []string{"none", "held"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, g, g2 := durableScene(t, 2203)
			ctx := context.Background()
			checkpoint(t, a.path)
			release := func() {}
			if mode == "held" {
				release = holdWALReader(t, a.path)
			}
			_, err := a.c.Send(ctx, g, protocol.Text("m1"))
			t.Logf("%s: Send m1: %v", mode, err)
			if err != nil {
				t.Fatalf("precondition: Send m1: %v", err)
			}
			mustSend(t, b, g2, "b1")
			// a's own reads are transactions too: their errors are reported, not fatal.
			var readErr error
			texts := func() int {
				got, err := chorustest.Texts(ctx, a.c, g2)
				if err != nil {
					readErr = err
				}
				return got["b1"]
			}
			start := time.Now()
			for time.Since(start) < 2*time.Second && texts() == 0 {
				time.Sleep(20 * time.Millisecond)
			}
			got := texts()
			t.Logf("%s: a's last read error: %v", mode, readErr)
			_, sendErr := a.c.Send(ctx, g2, protocol.Text("m2"))
			t.Logf("%s: reader held: a read b1 %d times in %v; Send m2: %v (unavailable %v)", mode, got, time.Since(start).Round(time.Millisecond),
				sendErr, errors.Is(sendErr, storage.ErrUnavailable))
			if got == 0 {
				t.Errorf("%s: a read nothing b sent in 2 s while another connection holds a read transaction", mode)
			}
			if sendErr != nil {
				t.Errorf("%s: a's Send on a chain in use fails while another connection holds a read transaction: %v", mode, sendErr)
			}
			release()
			tn.waitFor("a reads b1 once the reader is gone", func() bool { return a.texts(g2)["b1"] == 1 })
			tn.waitFor("b reads m1", func() bool { return b.texts(g)["m1"] == 1 })
		})
	}
}
