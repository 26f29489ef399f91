package protocol_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestInboxPendingFrameRetried: an inbox frame (initial or session) whose content cannot be used yet
// (here the continuation of a Welcome that overtook its first part) is kept pending; the
// session must not count it as received, or its retry finds neither its hint nor its
// message key and the frame is lost for good (every later sync brings it back unread).
func TestInboxPendingFrameRetried(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 91}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	// A first group sets up the session a → b and b → a.
	g0, err := a.c.CreateGroup(ctx, "first", "", b.id)
	must(t, err)
	tn.waitFor("b joined", func() bool { _, err := b.c.Group(ctx, g0); return err == nil })
	gb, err := b.c.CreateGroup(ctx, "reply", "", a.id) // b → a on the session: a's side is confirmed
	must(t, err)
	tn.waitFor("a joined", func() bool { _, err := a.c.Group(ctx, gb); return err == nil })
	tn.settle()

	b.pause()
	tp := tapInbox(t, tn, b)
	protocol.SetWelcomeLimit(a.c, 1200)
	g1, err := a.c.CreateGroup(ctx, "second", "", b.id, c.id)
	must(t, err)
	var frames [][]byte
	tn.waitFor("welcome parts to b", func() bool {
		frames = frames[:0]
		for _, e := range tp.all() {
			if len(e.Payload) > 1 && e.Payload[1] == byte(wire.KindSession) {
				frames = append(frames, e.Payload)
			}
		}
		return len(frames) >= 2
	}, func() string {
		var kinds []int
		for _, e := range tp.all() {
			kinds = append(kinds, int(e.Payload[1]), len(e.Payload))
		}
		return fmt.Sprint("kinds and sizes seen: ", kinds)
	})
	inbox := tp.topic
	// b reads its pending envelopes (none): it knows there is none until one is put, and
	// must then delete each one it processes (hotPath.pendingNone).
	if n, _ := protocol.PendingStats(b.c); n != 0 {
		t.Fatalf("%d envelopes pending before the Welcome", n)
	}
	// The continuation first: it waits for its group.
	for i := len(frames) - 1; i >= 0; i-- {
		protocol.Inject(b.c, inbox, frames[i])
	}
	protocol.RetryPending(b.c)
	if _, err := b.c.Group(ctx, g1); err != nil {
		t.Fatalf("b did not join from the reordered Welcome: %v", err)
	}
	if n, _ := protocol.PendingStats(b.c); n != 0 {
		t.Errorf("%d inbox frames still pending after their group arrived (their retry cannot open them)", n)
	}
}
