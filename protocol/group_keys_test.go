package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// groupRowSetup builds a group of n accounts × 1 installation as keyEventGroup does
// (only the admin and the receiver rx run; rx paused, fed by hand) and has both send
// and receive one message first (the first send after a join may heal, which writes
// the key schedule legitimately). collect returns the envelopes published on the
// group's topic since the last call.
func groupRowSetup(tb testing.TB, n int, seed int64) (admin, rx *peer, g protocol.GroupID, collect func() []transport.Envelope) {
	tb.Helper()
	tn := newEpochNet(tb, memory.Config{Seed: seed}, 0)
	admin, rx, _, g = keyEventGroup(tb, tn, fmt.Sprintf("row%d", n), n-2)
	ctx := context.Background()
	info, err := admin.c.Group(ctx, g)
	if err != nil {
		tb.Fatal(err)
	}
	tp := newTapTB(tb, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	collect = func() []transport.Envelope {
		deadline := time.Now().Add(5 * time.Second)
		for len(tp.all()) == seen && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()
		out := envs[seen:]
		seen = len(envs)
		return out
	}
	for range 2 {
		if _, err := admin.c.Send(ctx, g, protocol.Text("warm")); err != nil {
			tb.Fatal(err)
		}
		for _, e := range collect() {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
	}
	return admin, rx, g, collect
}

// groupRowWrites returns the bytes of blob and text arguments the sender's store is
// handed for one ordinary 100-byte message, and the receiver's for its receive (the
// least of three: background work of the client may add to one).
func groupRowWrites(t *testing.T, n int) (send, recv uint64) {
	admin, rx, g, collect := groupRowSetup(t, n, int64(70+n))
	ctx := context.Background()
	text := protocol.Text(strings.Repeat("x", 100))
	send, recv = ^uint64(0), ^uint64(0)
	for range 3 {
		before := admin.store.WriteArgBytes()
		if _, err := admin.c.Send(ctx, g, text); err != nil {
			t.Fatal(err)
		}
		send = min(send, admin.store.WriteArgBytes()-before)
		envs := collect()
		if len(envs) == 0 {
			t.Fatal("the send published nothing")
		}
		before = rx.store.WriteArgBytes()
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		recv = min(recv, rx.store.WriteArgBytes()-before)
	}
	for _, p := range []*peer{admin, rx} {
		if err := protocol.CheckHotViews(p.c); err != nil {
			t.Fatal(err)
		}
	}
	return send, recv
}

// TestGroupMessageWritesIndependentOfMembers: what the store is handed to write for an
// ordinary group message, sent or received, does not grow with the group (issue 16/13:
// the key schedule and its bookkeeping, which do, are written only when they change).
func TestGroupMessageWritesIndependentOfMembers(t *testing.T) {
	smallSend, smallRecv := groupRowWrites(t, 4)
	bigSend, bigRecv := groupRowWrites(t, 120)
	t.Logf("bytes handed to the store per message: send %d (4 members) %d (120); receive %d, %d",
		smallSend, bigSend, smallRecv, bigRecv)
	const slack = 64 // a varint or a member count's digits, not a per-member size
	if bigSend > smallSend+slack {
		t.Errorf("a send writes %d bytes in a group of 120, %d in a group of 4", bigSend, smallSend)
	}
	if bigRecv > smallRecv+slack {
		t.Errorf("a receive writes %d bytes in a group of 120, %d in a group of 4", bigRecv, smallRecv)
	}
}

// BenchmarkGroupRowMessage measures an ordinary 100-byte group message in a group of N
// accounts × 1 installation (CHORUS_BENCH_MEMBERS sets N, default 200; issue 16/13's
// target is 1000), built as BenchmarkKeyEventReceive's: send is the admin's Client.Send,
// receive the receiver's processing of it (the messages are sent first, then fed to it
// by hand). cpu-ns/op is the calling thread's CPU; write-B/op the bytes of blob and text
// arguments handed to the store per message (persistence.Store.WriteArgBytes).
func BenchmarkGroupRowMessage(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("CHORUS_BENCH_MEMBERS")); err == nil && v >= 4 {
		n = v
	}
	admin, rx, g, collect := groupRowSetup(b, n, 63)
	ctx := context.Background()
	text := protocol.Text(strings.Repeat("x", 100))
	b.Run(fmt.Sprintf("send/%dx1", n), func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		w0 := admin.store.WriteArgBytes()
		b.ReportAllocs()
		b.ResetTimer()
		t0 := threadCPU()
		for range b.N {
			if _, err := admin.c.Send(ctx, g, text); err != nil {
				b.Fatal(err)
			}
		}
		cpu := threadCPU() - t0
		b.StopTimer()
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(admin.store.WriteArgBytes()-w0)/float64(b.N), "write-B/op")
		for _, e := range collect() {
			protocol.Inject(rx.c, e.Topic, e.Payload) // keep the receiver up to date
		}
	})
	b.Run(fmt.Sprintf("receive/%dx1", n), func(b *testing.B) {
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
		w0 := rx.store.WriteArgBytes()
		b.ReportAllocs()
		b.ResetTimer()
		t0 := threadCPU()
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		cpu := threadCPU() - t0
		b.StopTimer()
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(rx.store.WriteArgBytes()-w0)/float64(b.N), "write-B/op")
	})
}

// TestGroupKeysOncePerTransaction: a transaction that changes a group's keys more than
// once stores them once, the last value, before its commit; a read of the group that
// bypasses the view within it sees them; a rollback leaves store and view as they were.
func TestGroupKeysOncePerTransaction(t *testing.T) {
	admin, _, g, _ := groupRowSetup(t, 4, 75)
	stored := func() []byte {
		t.Helper()
		m, err := protocol.StoredGroupMeta(admin.c, g)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	orig := stored()
	// Rolled back, with a read through the store in between.
	seen, before, last, err := protocol.RewriteGroupKeys(admin.c, g, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, orig) || !bytes.Equal(seen, last) {
		t.Fatalf("the store read within the transaction saw %d bytes of bookkeeping, not the last written (%d)", len(seen), len(last))
	}
	if got := stored(); !bytes.Equal(got, orig) {
		t.Fatal("a rolled-back transaction's keys were stored")
	}
	if err := protocol.CheckHotViews(admin.c); err != nil {
		t.Fatal(err)
	}
	// Committed, no read: the keys are handed to the store once.
	w0 := admin.store.WriteArgBytes()
	_, _, last, err = protocol.RewriteGroupKeys(admin.c, g, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if w := admin.store.WriteArgBytes() - w0; w >= uint64(2*len(orig)) {
		t.Errorf("two changes of %d-byte keys wrote %d bytes: not once", len(orig), w)
	}
	if got := stored(); !bytes.Equal(got, last) {
		t.Fatalf("stored bookkeeping of %d bytes, not the last written (%d)", len(got), len(last))
	}
	if err := protocol.CheckHotViews(admin.c); err != nil {
		t.Fatal(err)
	}
}
