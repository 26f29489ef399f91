package protocol

import (
	"context"
	"testing"
	"time"
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

// TestEventsLateCoalesced: events emitted late (a send's status, recordMarks) wait, so
// that a stream of sends wakes its subscriber once per burst instead of once per send
// (issue 16); none is lost, and they keep their order with the events emitted at once.
func TestEventsLateCoalesced(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := func(n int) Event { return &EventsDropped{Count: n} }
	count := func(e Event) int { return e.(*EventsDropped).Count }
	next := func(ch <-chan Event) int {
		t.Helper()
		select {
		case ev := <-ch:
			return count(ev)
		case <-time.After(5 * time.Second):
			t.Fatal("late event never delivered")
			return 0
		}
	}

	// Held back (a delay no test run reaches), ordered with the events emitted at once.
	b := newBus()
	b.lateDelay = time.Hour
	ch := b.subscribe(ctx)
	b.emitLate(ev(1))
	b.emitLate(ev(2))
	if n := len(ch); n != 0 {
		t.Fatalf("%d late events delivered at once, want them held", n)
	}
	b.emit(ev(3))
	if n := len(ch); n != 3 {
		t.Fatalf("%d events delivered by emit, want the 2 late ones before its own", n)
	}
	for want := 1; want <= 3; want++ {
		if got := next(ch); got != want {
			t.Fatalf("event %d, want %d", got, want)
		}
	}
	// lateMax of them are delivered without waiting.
	for i := range lateMax {
		b.emitLate(ev(10 + i))
	}
	if n := len(ch); n != lateMax {
		t.Fatalf("%d of %d late events delivered, want all at lateMax", n, lateMax)
	}
	for i := range lateMax {
		if got := next(ch); got != 10+i {
			t.Fatalf("event %d, want %d", got, 10+i)
		}
	}
	// close delivers what is held before closing the stream.
	b.emitLate(ev(5))
	b.close()
	if got := next(ch); got != 5 {
		t.Fatalf("event %d, want 5", got)
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed")
	}
	b.emitLate(ev(6)) // after close: dropped, no panic

	// The timer delivers them after lateDelay, in order.
	b = newBus()
	b.lateDelay = time.Millisecond
	ch = b.subscribe(ctx)
	for i := range 3 {
		b.emitLate(ev(20 + i))
	}
	for i := range 3 {
		if got := next(ch); got != 20+i {
			t.Fatalf("event %d, want %d", got, 20+i)
		}
	}
	b.close()
}
