package fanout

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
)

func env(topic string, i int) transport.Envelope {
	return transport.Envelope{Topic: topic, Payload: []byte{byte(i)}, Hash: sha256.Sum256([]byte{byte(i), byte(i >> 8)})}
}

func TestSeenSetEvictsOldest(t *testing.T) {
	s := newSeenSet(3)
	for i := range 5 {
		if !s.add([32]byte{byte(i)}) {
			t.Fatalf("%d not new", i)
		}
	}
	if s.add([32]byte{4}) || s.add([32]byte{2}) {
		t.Fatal("recent hash forgotten")
	}
	if !s.add([32]byte{0}) {
		t.Fatal("evicted hash still remembered")
	}
	if len(s.set) != 3 {
		t.Fatalf("set size %d", len(s.set))
	}
}

func TestHubOrderCompactionAndDedup(t *testing.T) {
	var c Counters
	h := NewHub(&c, 5000, 10, nil)
	defer h.Close()
	ch, err := h.Subscribe(context.Background(), []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000 // beyond the compaction threshold
	for i := range n {
		if !h.Deliver(env("t", i)) {
			t.Fatalf("message %d refused", i)
		}
	}
	if h.Deliver(env("t", n-1)) || h.Deliver(env("other", 1)) {
		t.Fatal("duplicate or unwanted message accepted")
	}
	for i := range n {
		select {
		case e := <-ch:
			if e.Payload[0] != byte(i) {
				t.Fatalf("message %d out of order", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("timeout")
		}
	}
	deadline := time.Now().Add(5 * time.Second) // a delivery is counted after the send completes
	for c.Stats().Deliveries != n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := c.Stats(); st.Received != n+1 || st.Duplicates != 1 || st.Deliveries != n {
		t.Fatalf("stats %+v", st)
	}
}

func TestHubTopicsChanged(t *testing.T) {
	var c Counters
	h := NewHub(&c, 0, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := h.Subscribe(ctx, []string{"b", "a", "b"}); err != nil {
		t.Fatal(err)
	}
	<-h.Changed()
	if got := h.Topics(); len(got) != 2 || got[0] != "a" || got[1] != "b" || !h.HasTopic("a") {
		t.Fatalf("topics %v", got)
	}
	cancel()
	<-h.Changed()
	deadline := time.Now().Add(5 * time.Second)
	for len(h.Topics()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("topics not released")
		}
		<-h.Changed()
	}
	h.Close()
	if _, err := h.Subscribe(context.Background(), []string{"a"}); err != transport.ErrClosed {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}

// TestHubWakeCoalesced: with SetWakeEvery, DeliverLazy wakes a subscription whose
// goroutine is parked at once for the first envelope, then at most once per period: what
// arrives in between waits for the next wake-up (issue 16: a stream of a node's own
// publishes does not wake its subscriber on the publisher's goroutine each time), or for
// an envelope delivered with Deliver, which wakes at once; nothing is lost or reordered.
func TestHubWakeCoalesced(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recv := func(ch <-chan transport.Envelope, within time.Duration) (transport.Envelope, bool) {
		select {
		case e := <-ch:
			return e, true
		case <-time.After(within):
			return transport.Envelope{}, false
		}
	}

	// A period no test run reaches: the second lazy envelope is held, until Deliver.
	h := NewHub(&Counters{}, 0, 0, nil)
	h.SetWakeEvery(time.Hour)
	defer h.Close()
	ch, err := h.Subscribe(ctx, []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the subscription goroutine parks
	h.DeliverLazy(env("t", 1))
	if e, ok := recv(ch, 5*time.Second); !ok || e.Payload[0] != 1 {
		t.Fatal("first envelope not delivered at once")
	}
	time.Sleep(10 * time.Millisecond)
	h.DeliverLazy(env("t", 2))
	if _, ok := recv(ch, 50*time.Millisecond); ok {
		t.Fatal("second lazy envelope woke the subscription within the period")
	}
	h.Deliver(env("t", 3))
	for want := 2; want <= 3; want++ {
		if e, ok := recv(ch, 5*time.Second); !ok || int(e.Payload[0]) != want {
			t.Fatalf("after Deliver: envelope %v (%v), want %d", e.Payload, ok, want)
		}
	}

	// A short period: everything arrives, in order.
	h2 := NewHub(&Counters{}, 0, 0, nil)
	h2.SetWakeEvery(2 * time.Millisecond)
	defer h2.Close()
	ch2, err := h2.Subscribe(ctx, []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		h2.DeliverLazy(env("t", i))
	}
	for i := range 50 {
		e, ok := recv(ch2, 5*time.Second)
		if !ok {
			t.Fatalf("envelope %d never delivered", i)
		}
		if int(e.Payload[0]) != i {
			t.Fatalf("envelope %d delivered as %d", i, e.Payload[0])
		}
	}
}
