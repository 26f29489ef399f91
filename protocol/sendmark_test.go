package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
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
