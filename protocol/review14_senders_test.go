package protocol_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSenderEpochsAfterFailedBatch (review 14, low): the client's list of the epochs that
// may hold a sending chain of ours (senderEpochs) follows each transaction's commit inside
// a batch; a batch whose commit then fails rolls the store back, and the reload that
// follows rebuilt every other cache but kept that list, which had lost the epochs retired
// in the batch: their sending chains, still stored, were never deleted (until a restart).
// The scene: r sends in its epoch, goes offline while a rekeys 8 times; a copy of r's
// database Syncs with failing batch commits, then again without. Asserted (CheckHotViews):
// after each, every stored sending chain's epoch is in the list.
func TestSenderEpochsAfterFailedBatch(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 1404}, 0)
	dir := t.TempDir()
	a := tn.addPersistent("a")
	r := tn.addAt("r", filepath.Join(dir, "r.db"))
	tn.connect(a, r)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", r.id)
	must(t, err)
	tn.settle()
	mustSend(t, r, g, "from r")
	tn.settle()
	r.stop()
	for range 8 {
		must(t, a.c.Rekey(ctx, g))
		mustSend(t, a, g, "from a")
	}
	fs := &failingBatches{fail: true}
	c, _ := openCopy(t, tn, filepath.Join(dir, "r.db"), "failing", func(s *persistence.Store) storage.Store { fs.Store = s; return fs })
	if err := c.Sync(ctx); err == nil {
		t.Fatal("Sync with failing batch commits: no error")
	}
	if err := protocol.CheckHotViews(c); err != nil {
		t.Fatalf("after a failed batch: %v", err)
	}
	fs.fail = false
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := protocol.CheckHotViews(c); err != nil {
		t.Fatalf("after Sync: %v", err)
	}
}
