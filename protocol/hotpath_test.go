package protocol_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSyncBatchBadSignature: in one Sync batch (signatures checked on every core ahead
// of it), a message claiming a member's next iteration with the right keys but another
// installation's signature is rejected alone: it leaves that sender's chain untouched
// (the genuine message of the same iteration, later in the batch, is still accepted),
// and every other message of the batch is committed, as one transaction per envelope
// does.
func TestSyncBatchBadSignature(t *testing.T) {
	// lead: messages of a before the forgery, which then lies in a later batch (its
	// signature checked while the one before is processed).
	for _, lead := range []int{0, 2 * protocol.SyncBatch} {
		t.Run(fmt.Sprintf("lead-%d", lead), func(t *testing.T) { testSyncBatchBadSignature(t, lead) })
	}
}

func testSyncBatchBadSignature(t *testing.T, lead int) {
	tn := newTestNet(t, memory.Config{Seed: 97}, 3)
	dir := t.TempDir()
	rcv := tn.addAt("r", filepath.Join(dir, "r.db"))
	tn.connect(tn.peers...)
	ctx := context.Background()
	a, b := tn.peers[0], tn.peers[1]
	g, err := a.c.CreateGroup(ctx, "g", "", ids(tn.peers[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for _, p := range []*peer{a, b} {
		if _, err := p.c.Send(ctx, g, protocol.Text("key of "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	held, err := rcv.c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rcv.stop()
	send := func(p *peer, text string) {
		t.Helper()
		if _, err := p.c.Send(ctx, g, protocol.Text(text)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range lead {
		send(a, fmt.Sprintf("lead %d", i))
	}
	send(a, "a 0")
	send(b, "b 0")
	// b forges a's next message: published before a's genuine one.
	topic, forged := protocol.ForgeNextMessage(b.c, a.c, g, "forged")
	if _, err := tn.net.Join("forger").Publish(ctx, topic, forged); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		send(a, fmt.Sprintf("a %d", i))
		send(b, fmt.Sprintf("b %d", i))
	}
	want := len(held) + 8 + lead
	batched, bevs := openCopy(t, tn, filepath.Join(dir, "r.db"), "batched", func(s *persistence.Store) storage.Store { return s })
	plain, _ := openCopy(t, tn, filepath.Join(dir, "r.db"), "plain", func(s *persistence.Store) storage.Store { return plainStore{s} })
	for _, c := range []*protocol.Client{batched, plain} {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Messages(ctx, g, protocol.MessageFilter{})
		if err != nil || len(msgs) != want {
			t.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, want)
		}
		texts := map[string]bool{}
		for _, m := range msgs {
			texts[m.Content.Text] = true
		}
		if texts["forged"] {
			t.Fatal("the forged message was stored")
		}
		for i := range 4 {
			for _, who := range []string{"a", "b"} {
				if s := fmt.Sprintf("%s %d", who, i); !texts[s] {
					t.Fatalf("%q missing after Sync", s)
				}
			}
		}
	}
	if b, p := protocol.StateDigest(batched), protocol.StateDigest(plain); b != p {
		t.Fatal("batched Sync ends in another state than one transaction per envelope")
	}
	if err := protocol.CheckHotViews(batched); err != nil {
		t.Fatal(err)
	}
	if n := received(bevs); n != 8+lead {
		t.Fatalf("%d message events, want %d", n, 8+lead)
	}
}

// TestSyncHotViewsFollowStore: the message path's in-memory views (group state, epoch
// chains: hotpath.go) hold what every peer's store holds through messages, a removal
// (new epoch, chains of the old ones deleted), an addition, a failed batch commit and a
// Sync that rejects a forged message.
func TestSyncHotViewsFollowStore(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 101}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	check := func(step string, ps ...*peer) {
		t.Helper()
		for _, p := range ps {
			if err := protocol.CheckHotViews(p.c); err != nil {
				t.Fatalf("%s, %s: %v", step, p.name, err)
			}
		}
	}
	for i := range 3 {
		for _, p := range []*peer{a, b, c} {
			mustSend(t, p, g, fmt.Sprintf("%s %d", p.name, i))
		}
	}
	tn.settle()
	if gs, chains := protocol.HotViewSizes(b.c); gs == 0 || chains == 0 {
		t.Fatalf("b holds %d groups and %d chains in view after messages: the test checks nothing", gs, chains)
	}
	check("messages", a, b, c)
	if err := protocol.DeleteReceiverChainsOf(b.c, a.c, g); err != nil {
		t.Fatal(err)
	}
	check("chains deleted", b)
	if err := a.c.RemoveMembers(ctx, g, c.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, a, g, "after removal a")
	mustSend(t, b, g, "after removal b")
	tn.settle()
	check("removal", a, b, c)
	if err := a.c.AddMembers(ctx, g, d.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, d, g, "d")
	mustSend(t, b, g, "after add b")
	tn.settle()
	check("addition", a, b, d)
	waitTexts(t, tn, g, []string{"d", "after add b"}, a, b, d)
}

// TestSyncHotViewsAfterBatch: after a Sync whose batches reject a forged message and after
// a batch whose commit fails, the views hold what the store holds.
func TestSyncHotViewsAfterBatch(t *testing.T) {
	tn, g, path, want := syncFixture(t)
	ctx := context.Background()
	fs := &failingBatches{fail: true}
	c, _ := openCopy(t, tn, path, "failing", func(s *persistence.Store) storage.Store { fs.Store = s; return fs })
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
	if msgs, err := c.Messages(ctx, g, protocol.MessageFilter{}); err != nil || len(msgs) != want {
		t.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, want)
	}
	if err := protocol.CheckHotViews(c); err != nil {
		t.Fatalf("after Sync: %v", err)
	}
	if gs, chains := protocol.HotViewSizes(c); gs == 0 || chains == 0 {
		t.Fatalf("%d groups and %d chains in view after Sync: the test checks nothing", gs, chains)
	}
}
