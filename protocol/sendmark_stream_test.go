package protocol_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestSendStreamMarksInline: a stream of sends records each publish in the next send's
// transaction, with no transaction of the mark timer's in between (issue 16: it only
// contended with the sends for the client and the store), and the last publish of the
// stream is still recorded, by the timer, once the client is idle.
func TestSendStreamMarksInline(t *testing.T) {
	_, a, b, g, _ := benchGroup(t)
	a.pause() // no transaction but the sends' and the timer's
	b.pause()
	ctx := context.Background()
	send := func() {
		t.Helper()
		if _, err := a.c.Send(ctx, g, protocol.Text("stream")); err != nil {
			t.Fatal(err)
		}
	}
	send()
	time.Sleep(50 * time.Millisecond) // the warm-up's mark recorded
	var commits atomic.Int64
	protocol.SetCommitHookForTest(a.c, func() error { commits.Add(1); return nil })
	defer protocol.SetCommitHookForTest(a.c, nil)
	const n = 60 // 2 ms apart: ≈ 24 firings of a 5 ms timer
	for range n {
		send()
		time.Sleep(2 * time.Millisecond)
	}
	// A send delayed past markDelay by a loaded machine lets the timer in; a few only.
	stream := commits.Load()
	if stream > n+6 {
		t.Errorf("%d transactions for a stream of %d sends, want about one per send", stream, n)
	}
	// Idle: the timer's transaction records the last publish (nothing else runs one).
	deadline := time.Now().Add(5 * time.Second)
	for commits.Load() == stream {
		if time.Now().After(deadline) {
			t.Fatal("no transaction of the mark timer's on an idle client")
		}
		time.Sleep(time.Millisecond)
	}
	for {
		msgs, err := a.c.Messages(ctx, g, protocol.MessageFilter{Limit: n + 1})
		if err != nil {
			t.Fatal(err)
		}
		unpublished := 0
		for _, m := range msgs {
			if m.Status != protocol.StatusPublished {
				unpublished++
			}
		}
		if unpublished == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages of the stream never marked Published on an idle client", unpublished)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
