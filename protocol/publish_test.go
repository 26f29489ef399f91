package protocol_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// sendCost sends one message from p and returns the publishes and bytes it caused.
func sendCost(t *testing.T, tn *testNet, p *peer, g protocol.GroupID, text string) (pubs, bytes int64) {
	t.Helper()
	before := tn.net.Stats()
	if _, err := p.c.Send(context.Background(), g, protocol.Text(text)); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	after := tn.net.Stats()
	return after.Publishes - before.Publishes, after.Bytes - before.Bytes
}

// TestPublishesPerMessage asserts exactly one publish per group message at n = 2, 10, 50
// — ordinary messages, a member's first message (which carries its rotation block) and
// every remaining member's first message after a removal — and logs bytes and the
// removal cost.
func TestPublishesPerMessage(t *testing.T) {
	sizes := []int{2, 10, 50}
	if testing.Short() {
		sizes = []int{2, 10}
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tn := newTestNet(t, memory.Config{Seed: int64(n)}, n)
			tn.connect(tn.peers...)
			ctx := context.Background()
			admin := tn.peers[0]
			g, err := admin.c.CreateGroup(ctx, "count", "", ids(tn.peers[1:]...)...)
			if err != nil {
				t.Fatal(err)
			}
			tn.settle()
			pubs, ordinary := sendCost(t, tn, admin, g, "first from admin")
			if pubs != 1 {
				t.Fatalf("admin message: %d publishes", pubs)
			}
			var firstBytes int64
			for i, p := range tn.peers[1:] {
				pubs, b := sendCost(t, tn, p, g, "first from "+p.name)
				if pubs != 1 {
					t.Fatalf("%s first message (rotation block): %d publishes", p.name, pubs)
				}
				if i == 0 {
					firstBytes = b
				}
			}
			tn.settle()
			// Each member's next RotationRepeats messages repeat its rotation block.
			var repeatBytes int64
			for r := 0; r < protocol.RotationRepeats; r++ {
				pubs, b := sendCost(t, tn, tn.peers[n-1], g, fmt.Sprintf("repeat %d", r))
				if pubs != 1 {
					t.Fatalf("repeat: %d publishes", pubs)
				}
				repeatBytes = b
			}
			tn.settle()
			pubs, ordinary2 := sendCost(t, tn, tn.peers[n-1], g, "ordinary")
			if pubs != 1 {
				t.Fatalf("ordinary message: %d publishes", pubs)
			}
			tn.settle()
			for _, p := range tn.peers {
				if got := len(p.texts(g)); got != n+1+protocol.RotationRepeats {
					t.Fatalf("%s has %d messages, want %d", p.name, got, n+1+protocol.RotationRepeats)
				}
			}
			t.Logf("n=%d: a message repeating the rotation block: %d B", n, repeatBytes)
			t.Logf("n=%d: publishes per message 1; bytes: ordinary %d (admin %d), member's first message with %d-slot rotation block %d",
				n, ordinary2, ordinary, n-1, firstBytes)
			if n < 3 {
				return
			}
			// Removal cost: the removal event (one publish), then each remaining member's
			// next message carries its new key for the n-2 remaining others.
			before := tn.net.Stats()
			victim := tn.peers[n-1]
			if err := admin.c.RemoveMembers(ctx, g, victim.id); err != nil {
				t.Fatal(err)
			}
			after := tn.net.Stats()
			if after.Publishes-before.Publishes != 1 {
				t.Fatalf("removal: %d publishes", after.Publishes-before.Publishes)
			}
			removal := after.Bytes - before.Bytes
			tn.settle()
			var rekeyBytes, rekeyPubs int64
			for _, p := range tn.peers[:n-1] {
				pubs, b := sendCost(t, tn, p, g, "after removal from "+p.name)
				if pubs != 1 {
					t.Fatalf("%s: first message after removal: %d publishes", p.name, pubs)
				}
				rekeyPubs += pubs
				rekeyBytes += b - ordinary2
			}
			tn.settle()
			for _, p := range tn.peers[:n-1] {
				if got := p.texts(g); len(got) != n+1+protocol.RotationRepeats+n-1 {
					t.Fatalf("%s has %d messages after removal round", p.name, len(got))
				}
			}
			if got := victim.texts(g); len(got) != n+1+protocol.RotationRepeats {
				t.Fatalf("removed member read post-removal traffic: %d messages", len(got))
			}
			t.Logf("n=%d removal: event 1 publish %d B; rekey rides on the next message of each of %d remaining senders (%d publishes, all of them messages): extra %d B total, %d B per sender",
				n, removal, n-1, rekeyPubs, rekeyBytes, rekeyBytes/int64(n-1))
		})
	}
}

// TestSplitRotationBlock forces a key block over several publishes (a small frame limit
// stands in for a group of more than ~1300 installations): every member reaches the new
// epoch and reads the next message, and an ordinary message is one publish again.
func TestSplitRotationBlock(t *testing.T) {
	n := 10
	tn := newEpochNet(t, memory.Config{Seed: 41}, n)
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := tn.peers[0].c.CreateGroup(ctx, "split", "", ids(tn.peers[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	p := tn.peers[1]
	protocol.SetFrameLimit(p.c, 1200) // a few initial slots per part
	before := tn.net.Stats()
	if err := p.c.Rekey(ctx, g); err != nil {
		t.Fatal(err)
	}
	pubs := tn.net.Stats().Publishes - before.Publishes
	if pubs < 2 {
		t.Fatalf("key block not split: %d publishes", pubs)
	}
	tn.settle()
	_, _, want := protocol.EpochInfo(p.c, g)
	for _, q := range tn.peers {
		if _, _, got := protocol.EpochInfo(q.c, g); got != want {
			t.Fatalf("%s on epoch %x, the rekey's is %x", q.name, got[:4], want[:4])
		}
	}
	if pubs, _ := sendCost(t, tn, p, g, "after split rekey"); pubs != 1 {
		t.Fatalf("ordinary message after a split key block: %d publishes", pubs)
	}
	tn.settle()
	for _, q := range tn.peers {
		if q.texts(g)["after split rekey"] != 1 {
			t.Fatalf("%s did not get the message", q.name)
		}
	}
	t.Logf("9 slots at a 1200-byte frame limit: %d publishes", pubs)
}
