package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSendMarksPublished: a send's mark step (the message's only outbox record, marked
// without reading it back) leaves the message Published and emits exactly one
// DeliveryStatusChanged for it, naming its group; the receiver gets it once.
func TestSendMarksPublished(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 53}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	var ids []protocol.MessageID
	for _, text := range []string{"one", "two", "three"} {
		id, err := a.c.Send(ctx, g, protocol.Text(text))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	tn.settle()
	time.Sleep(20 * time.Millisecond)
	msgs, err := a.c.Messages(ctx, g, protocol.MessageFilter{Limit: len(ids)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Status != protocol.StatusPublished {
			t.Fatalf("message %x: status %v, want Published", m.ID[:4], m.Status)
		}
	}
	for _, id := range ids {
		var n int
		for _, e := range a.eventsOf(func(e protocol.Event) bool { _, ok := e.(*protocol.DeliveryStatusChanged); return ok }) {
			d := e.(*protocol.DeliveryStatusChanged)
			if d.Message != id {
				continue
			}
			n++
			if d.Group != g || d.Status != protocol.StatusPublished {
				t.Fatalf("status event %+v, want Published in group %x", d, g[:4])
			}
		}
		if n != 1 {
			t.Fatalf("message %x: %d status events, want 1", id[:4], n)
		}
	}
	for _, text := range []string{"one", "two", "three"} {
		if n := b.texts(g)[text]; n != 1 {
			t.Fatalf("%q received %d times", text, n)
		}
	}
}

// TestSendMarkDeferred: a send's publish is recorded by the client's next transaction, or
// on its own shortly after when none comes: an idle client still reports the message
// Published (its event arrives), and a read right after a send sees it Published.
func TestSendMarkDeferred(t *testing.T) {
	_, a, b, g, _ := benchGroup(t)
	b.pause() // a runs: its events are recorded
	ctx := context.Background()
	published := func(id protocol.MessageID) int {
		n := 0
		for _, e := range a.eventsOf(func(e protocol.Event) bool { _, ok := e.(*protocol.DeliveryStatusChanged); return ok }) {
			if d := e.(*protocol.DeliveryStatusChanged); d.Message == id && d.Status == protocol.StatusPublished {
				n++
			}
		}
		return n
	}
	id, err := a.c.Send(ctx, g, protocol.Text("idle"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for published(id) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := published(id); n != 1 {
		t.Fatalf("an idle client reported its message Published %d times, want 1", n)
	}
	var sent []protocol.MessageID
	for _, text := range []string{"one", "two"} {
		id, err := a.c.Send(ctx, g, protocol.Text(text))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, id)
	}
	msgs, err := a.c.Messages(ctx, g, protocol.MessageFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Status != protocol.StatusPublished {
			t.Fatalf("message %x read right after its send: status %v, want Published", m.ID[:4], m.Status)
		}
	}
	for _, id := range sent {
		for published(id) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := published(id); n != 1 {
			t.Fatalf("message %x: %d Published events, want 1", id[:4], n)
		}
	}
}

// TestSendMarkOnClose: a client closed right after a send records its publish first: the
// store it leaves holds the message Published and no outbox record to publish again.
func TestSendMarkOnClose(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{Seed: 67}, 0)
	a, b := tn.addPersistent("a"), tn.add("b")
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	id, err := a.c.Send(ctx, g, protocol.Text("last words"))
	if err != nil {
		t.Fatal(err)
	}
	a.stop() // at once: before the mark's delay
	st, err := persistence.Open(a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.WithTx(ctx, func(tx storage.StoreTx) error {
		m, err := tx.Message(id)
		if err != nil {
			return err
		}
		if m.Status != storage.StatusPublished {
			t.Errorf("message status %v after Close, want Published", m.Status)
		}
		u, err := tx.OutboxUsage()
		if err != nil {
			return err
		}
		if u.Unpublished != 0 {
			t.Errorf("%d unpublished outbox records after Close, want 0", u.Unpublished)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
