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
