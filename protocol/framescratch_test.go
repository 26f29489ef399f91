package protocol_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestKeyEventReceiveFrameReused: a receiver opens a key block's frame and parses its
// slots into a buffer lent for the envelope (issue 13): the receive of a removal in a
// group of 200 allocates at least the frame's size less than the same receive without
// the lent buffer (the frame's plaintext, zeroed, and its slots). Three removals are
// received back to back with the collector off (the pool is not emptied between them):
// the first lends the buffers back, the second uses them, the third is received without.
func TestKeyEventReceiveFrameReused(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 63}, 0)
	admin, rx, others, g := keyEventGroup(t, tn, "frames", 198)
	ctx := context.Background()
	info, _ := admin.c.Group(ctx, g)
	tp := newTapTB(t, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	var removals [][]transport.Envelope
	for _, victim := range others[:3] {
		if err := admin.c.RemoveMembers(ctx, g, victim.id); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(tp.all()) == seen && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()
		removals = append(removals, envs[seen:])
		seen = len(envs)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var m0, m1 runtime.MemStats
	allocated := make([]uint64, len(removals))
	size := 0
	for i, envs := range removals {
		if i == 2 {
			protocol.SetFrameScratch(rx.c, false)
		}
		runtime.ReadMemStats(&m0)
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
			size = max(size, len(e.Payload))
		}
		runtime.ReadMemStats(&m1)
		allocated[i] = m1.TotalAlloc - m0.TotalAlloc
	}
	_, _, want := protocol.EpochInfo(admin.c, g)
	if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
		t.Fatal("receiver not on the admin's epoch after the removals")
	}
	t.Logf("allocated per removal received: %d B (lending back), %d B (lent), %d B (without); largest envelope %d B", allocated[0], allocated[1], allocated[2], size)
	if allocated[1]+uint64(size) > allocated[2] {
		t.Errorf("a removal received with the lent buffer allocated %d B, without %d B: want at least the envelope's %d B less", allocated[1], allocated[2], size)
	}
}
