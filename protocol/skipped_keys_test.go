package protocol_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
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

// lose has admin send n messages rx never receives and returns them.
func lose(t *testing.T, admin *peer, g protocol.GroupID, collect func() []transport.Envelope, n int) []transport.Envelope {
	t.Helper()
	var out []transport.Envelope
	for i := range n {
		if _, err := admin.c.Send(context.Background(), g, protocol.Text("lost")); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			out = append(out, collect()...)
		}
	}
	out = append(out, collect()...)
	if len(out) < n {
		t.Fatalf("%d messages sent, %d published", n, len(out))
	}
	return out
}

// lateWrites injects a lost message and returns the bytes the store is handed for it,
// checking it opened (one more message in the group).
func lateWrites(t *testing.T, rx *peer, g protocol.GroupID, e transport.Envelope) uint64 {
	t.Helper()
	ctx := context.Background()
	before, _ := rx.c.Messages(ctx, g, protocol.MessageFilter{})
	w0 := rx.store.WriteArgBytes()
	protocol.Inject(rx.c, e.Topic, e.Payload)
	w := rx.store.WriteArgBytes() - w0
	if after, _ := rx.c.Messages(ctx, g, protocol.MessageFilter{}); len(after) != len(before)+1 {
		t.Fatalf("a late message did not open: %d messages, then %d", len(before), len(after))
	}
	return w
}

// TestReceiveWritesIndependentOfSkippedKeys: what the store is handed for a received
// message does not grow with the skipped keys of the sender's chain (issue 16: a lossy
// network leaves up to epoch.MaxSkippedKeys of them; the chain row is not rewritten with
// them on every message), an ordinary one or a lost one received late (which opens with
// its skipped key). Both are compared after 10 and after 1000 lost messages (a loss
// also adds expected history entries, bounded by the history's length).
func TestReceiveWritesIndependentOfSkippedKeys(t *testing.T) {
	admin, rx, g, collect := groupRowSetup(t, 4, 91)
	few := lose(t, admin, g, collect, 10)
	fewRecv := receiveWrites(t, admin, rx, g, collect)
	fewLate := lateWrites(t, rx, g, few[len(few)/2])
	many := lose(t, admin, g, collect, 1000)
	manyRecv := receiveWrites(t, admin, rx, g, collect)
	manyLate := lateWrites(t, rx, g, many[len(many)/2])
	t.Logf("bytes handed to the store per received message: %d (10 skipped keys), %d (1000); late: %d, %d",
		fewRecv, manyRecv, fewLate, manyLate)
	const slack = 64 // an iteration's digits, not a per-key size
	if manyRecv > fewRecv+slack {
		t.Errorf("a receive writes %d bytes with 1000 skipped keys, %d with 10", manyRecv, fewRecv)
	}
	if manyLate > fewLate+slack {
		t.Errorf("a late message writes %d bytes with 1000 skipped keys, %d with 10", manyLate, fewLate)
	}
	if err := protocol.CheckHotViews(rx.c); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReceiveSkipped measures the receive of an ordinary 100-byte group message (4
// accounts × 1 installation, as BenchmarkGroupRowMessage) once the sender's chain holds
// CHORUS_BENCH_SKIPPED skipped keys (default 1000; issue 16: a lossy network's). cpu-ns/op
// is the calling thread's CPU, write-B/op the bytes handed to the store per message.
func BenchmarkReceiveSkipped(b *testing.B) {
	skipped := 1000
	if v, err := strconv.Atoi(os.Getenv("CHORUS_BENCH_SKIPPED")); err == nil && v >= 0 {
		skipped = v
	}
	admin, rx, g, collect := groupRowSetup(b, 4, 93)
	ctx := context.Background()
	for i := range skipped {
		if _, err := admin.c.Send(ctx, g, protocol.Text("lost")); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			collect()
		}
	}
	collect()
	text := protocol.Text(strings.Repeat("x", 100))
	b.Run(fmt.Sprintf("skipped=%d", skipped), func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range b.N {
			if _, err := admin.c.Send(ctx, g, text); err != nil {
				b.Fatal(err)
			}
		}
		envs := collect()
		if len(envs) < b.N {
			b.Fatalf("%d messages sent, %d published", b.N, len(envs))
		}
		protocol.Inject(rx.c, envs[0].Topic, envs[0].Payload) // the jump: stores the skipped keys
		w0 := rx.store.WriteArgBytes()
		b.ReportAllocs()
		b.ResetTimer()
		t0 := threadCPU()
		for _, e := range envs[1:] {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		cpu := threadCPU() - t0
		b.StopTimer()
		if n := len(envs) - 1; n > 0 {
			b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
			b.ReportMetric(float64(rx.store.WriteArgBytes()-w0)/float64(n), "write-B/op")
		}
	})
}
