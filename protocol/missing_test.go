package protocol_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestMissingReported checks R1: messages a receiver never got and cannot fetch (no
// history store) are reported with their sender, from iteration gaps and from the causal
// history of later messages.
func TestMissingReported(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 17, HistoryLimit: -1}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if _, err := b.c.Send(ctx, g, protocol.Text("b0")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	tn.net.SetOffline(c.name, true)
	for i := 1; i <= 3; i++ {
		if _, err := b.c.Send(ctx, g, protocol.Text(fmt.Sprintf("b%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// a got b1..b3, so they were published while c was offline (not a sleep: under load
	// a publish can come later than any fixed delay).
	waitFor(t, 10*time.Second, "a to receive b1..b3", func() bool {
		got := a.texts(g)
		return got["b1"] > 0 && got["b2"] > 0 && got["b3"] > 0
	})
	tn.net.SetOffline(c.name, false)
	if _, err := b.c.Send(ctx, g, protocol.Text("b4")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.texts(g)["b4"] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("b4 not received")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = c.c.Sync(ctx) // history unavailable: reports what is missing
	missingReports(t, c, b.id)
	if c.texts(g)["b2"] != 0 {
		t.Fatal("c has a message it cannot have received")
	}
}

// missingReports waits until p has reported, as R1 requires, one iteration gap of three
// messages and at least one loss found through causal history, all attributed to sender;
// it fails on a report attributed to anyone else or on more than one gap report.
func missingReports(t *testing.T, p *peer, sender string) {
	t.Helper()
	var gap, hist int
	deadline := time.Now().Add(10 * time.Second)
	for {
		gap, hist = 0, 0
		for _, e := range p.eventsOf(func(e protocol.Event) bool { _, ok := e.(*protocol.MessageMissing); return ok }) {
			m := e.(*protocol.MessageMissing)
			if m.SenderAccount != sender {
				t.Fatalf("missing message attributed to %q: %+v", m.SenderAccount, m)
			}
			if m.ByHistory {
				hist++
			} else if m.To-m.From == 3 {
				gap++
			}
		}
		if gap > 1 {
			t.Fatalf("gap reported %d times", gap)
		}
		if gap == 1 && hist > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gap reports %d, causal-history reports %d", gap, hist)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
