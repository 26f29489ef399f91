package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestSendMarkRecordedDespiteFailedTxs (review 5, send5 5034918): the mark timer skips its
// own transaction while "transactions record marks" (markTxs moved since it was armed),
// but markTxs counts every transaction that took the marks, rolled back ones included
// (recordMarks increments it before the work; marksDone(false) puts the marks back). A
// client whose other transactions keep failing (receives that end pending during a sync,
// a member's envelopes that wait: each rolls back) never records a send's publish while
// that goes on: the message stays Sending, its record claimed. Its publish should be
// recorded within a few markDelay by the timer's transaction, which does not fail.
func TestSendMarkRecordedDespiteFailedTxs(t *testing.T) {
	_, a, b, g, _ := benchGroup(t)
	a.pause()
	b.pause()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := a.c.Subscribe(ctx) // read without a transaction (a read's would record the mark)
	id, err := a.c.Send(ctx, g, protocol.Text("one"))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // failing transactions, 1 ms apart (a receive ending pending, each)
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = protocol.FailedTxForTest(a.c)
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { close(stop); <-done }()
	timeout := time.After(2 * time.Second) // 400 × markDelay
	for {
		select {
		case ev := <-events:
			if d, ok := ev.(*protocol.DeliveryStatusChanged); ok && d.Message == id && d.Status == protocol.StatusPublished {
				return
			}
		case <-timeout:
			t.Fatal("publish not recorded (no Published status) after 2 s of failing transactions")
		}
	}
}
