package protocol_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// receiveWrites returns the least bytes the receiver's store is handed for one ordinary
// 100-byte message over three rounds (background work may add to one).
func receiveWrites(t *testing.T, admin, rx *peer, g protocol.GroupID, collect func() []transport.Envelope) uint64 {
	t.Helper()
	ctx := context.Background()
	text := protocol.Text(strings.Repeat("x", 100))
	recv := ^uint64(0)
	for range 3 {
		if _, err := admin.c.Send(ctx, g, text); err != nil {
			t.Fatal(err)
		}
		envs := collect()
		if len(envs) == 0 {
			t.Fatal("the send published nothing")
		}
		before := rx.store.WriteArgBytes()
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		recv = min(recv, rx.store.WriteArgBytes()-before)
	}
	return recv
}

// TestReceiveWritesIndependentOfSkippedKeys: what the store is handed for a received
// message does not grow with the skipped keys of the sender's chain (issue 16: a lossy
// network leaves up to epoch.MaxSkippedKeys of them; the chain row is not rewritten with
// them on every message). The skipped keys stay usable: a lost message received late
// still opens.
func TestReceiveWritesIndependentOfSkippedKeys(t *testing.T) {
	admin, rx, g, collect := groupRowSetup(t, 4, 91)
	ctx := context.Background()
	before := receiveWrites(t, admin, rx, g, collect)
	const lost = 1000
	var lostEnvs []transport.Envelope
	for i := range lost {
		if _, err := admin.c.Send(ctx, g, protocol.Text("lost")); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			lostEnvs = append(lostEnvs, collect()...)
		}
	}
	lostEnvs = append(lostEnvs, collect()...)
	if len(lostEnvs) < lost {
		t.Fatalf("%d messages sent, %d published", lost, len(lostEnvs))
	}
	after := receiveWrites(t, admin, rx, g, collect)
	t.Logf("bytes handed to the store per received message: %d (no skipped keys), %d (%d skipped)", before, after, lost)
	const slack = 64 // an iteration's digits, not a per-key size
	if after > before+slack {
		t.Errorf("a receive writes %d bytes with %d skipped keys, %d with none", after, lost, before)
	}
	// A lost message arriving late opens with its skipped key (and only once).
	w0 := rx.store.WriteArgBytes()
	e := lostEnvs[len(lostEnvs)/2]
	protocol.Inject(rx.c, e.Topic, e.Payload)
	if late := rx.store.WriteArgBytes() - w0; late > before+slack {
		t.Errorf("a late message writes %d bytes, an ordinary one %d", late, before)
	}
	if err := protocol.CheckHotViews(rx.c); err != nil {
		t.Fatal(err)
	}
}
