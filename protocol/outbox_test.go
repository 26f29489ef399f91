package protocol_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

func outboxUsage(t *testing.T, p *peer) storage.OutboxUsage {
	t.Helper()
	var u storage.OutboxUsage
	if err := p.store.WithTx(context.Background(), func(tx storage.StoreTx) error {
		var err error
		u, err = tx.OutboxUsage()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestOutboxBounded: the outbox keeps nothing it has published (a group creation's
// Welcomes, the messages after it), and the failed publishes it keeps stay within
// MaxOutboxKeptBytes, oldest dropped first, while their messages stay Failed.
func TestOutboxBounded(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 71}, 5)
	a := tn.peers[0]
	tn.connect(tn.peers...)
	ctx := context.Background()
	var ids []string
	for _, p := range tn.peers[1:] {
		ids = append(ids, p.id)
	}
	g, err := a.c.CreateGroup(ctx, "g", "", ids...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for i := range 5 {
		if _, err := a.c.Send(ctx, g, protocol.Text(strings.Repeat("x", 100+i))); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	if u := outboxUsage(t, a); u != (storage.OutboxUsage{}) {
		t.Fatalf("outbox after every publish went out: %+v, want empty", u)
	}

	// Failed publishes: more than the bound in total.
	a.failPublish.Store(true)
	text := protocol.Text(strings.Repeat("f", protocol.MaxFrame-2048))
	n := int(protocol.MaxOutboxKeptBytes/(protocol.MaxFrame-2048)) + 4
	var sent []protocol.MessageID
	for range n {
		id, err := a.c.Send(ctx, g, text)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, id)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := a.c.Messages(ctx, g, protocol.MessageFilter{HasStatus: true, Status: protocol.StatusFailed})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == n {
			failed := map[protocol.MessageID]bool{}
			for _, m := range msgs {
				failed[m.ID] = true
			}
			for _, id := range sent {
				if !failed[id] {
					t.Fatalf("message %x not Failed", id[:4])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages failed", len(msgs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	u := outboxUsage(t, a)
	if u.Unpublished != 0 || u.KeptBytes > protocol.MaxOutboxKeptBytes || u.Kept >= n || u.Kept == 0 {
		t.Fatalf("outbox after %d failed publishes of %d bytes: %+v, want kept bytes ≤ %d", n, protocol.MaxFrame-2048, u, protocol.MaxOutboxKeptBytes)
	}
	a.failPublish.Store(false)
}
