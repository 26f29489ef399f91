package protocol

import (
	"context"
	"testing"
)

// TestEventsNeverBlock fills a subscriber that does not read: the publisher never blocks,
// and the subscriber learns how many events it missed.
func TestEventsNeverBlock(t *testing.T) {
	b := newBus()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.subscribe(ctx)
	for i := 0; i < EventBuffer+10; i++ {
		b.emit(&EventsDropped{Count: -1})
	}
	for i := 0; i < EventBuffer; i++ {
		<-ch
	}
	b.emit(&EventsDropped{Count: -1})
	ev := <-ch
	if d, ok := ev.(*EventsDropped); !ok || d.Count != 10 {
		t.Fatalf("got %#v, want 10 dropped", ev)
	}
	if ev := <-ch; ev.(*EventsDropped).Count != -1 {
		t.Fatal("event after the drop report lost")
	}
	b.close()
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed")
	}
	if _, ok := <-b.subscribe(ctx); ok {
		t.Fatal("subscription after close not closed")
	}
}
