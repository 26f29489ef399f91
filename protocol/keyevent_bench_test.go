package protocol_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/chorus-im/chorus/doubleratchet"
	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// BenchmarkKeyEventReceive measures one receiving installation's CPU for a removal
// publish (membership event + key block) in a group of N accounts × 1 installation
// (CHORUS_BENCH_MEMBERS sets N, default 50; issue 13's target is at 1000): thread CPU of
// the receive (store included) per key event, and its ratio to the key schedule's own
// receive (package epoch: outer open, block parse, slot open with a DH ratchet turn,
// schedule) over a block of as many slots, measured in the same run. Only the admin and
// the receiver run; the other members are contacts of the admin, stopped after setup.
// Every iteration removes a member (the receive is measured: cpu-ns/op and x-floor, and
// its allocations rx-B/op and rx-allocs/op, the bytes it hands its store to write
// rx-write-B/op (persistence.Store.WriteArgBytes) and its statements rx-stmts/op (BEGIN and
// COMMIT not counted); ns/op and B/op are the whole iteration, the
// admin's removal included, which keeps b.N small);
// once every member was removed, each is added back before its next removal (not measured;
// a Welcome carries the log, so at N = 1000 keep -benchtime below 1000x for speed). The
// receive runs under the pprof label side=receive: profile it alone with
// -cpuprofile and go tool pprof -tagfocus=side=receive. With CHORUS_PERF_CTL=ctl,ack (the
// fifos of perf record -D -1 --control fifo:ctl,ack) perf samples only the receives.
func BenchmarkKeyEventReceive(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("CHORUS_BENCH_MEMBERS")); err == nil && v >= 4 {
		n = v
	}
	tn := newEpochNet(b, memory.Config{Seed: 61}, 0)
	admin, rx, others, g := keyEventGroup(b, tn, "bench", n-2)
	ctx := context.Background()
	if _, err := rx.c.Group(ctx, g); err != nil {
		b.Fatalf("receiver did not join: %v", err)
	}
	info, _ := admin.c.Group(ctx, g)
	tp := newTapTB(b, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	// collect waits for the publishes of the last operation on the group topic.
	collect := func() []transport.Envelope {
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
	inSync := func(what string) {
		_, _, want := protocol.EpochInfo(admin.c, g)
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			b.Fatalf("receiver not on the admin's epoch after %s", what)
		}
	}
	floor := keyScheduleReceiveFloor(b, n-2)
	// The sub-benchmark's function runs more than once (b.N = 1 first, then again per
	// -count) on the same group: the next victim and who is out persist across runs, and
	// a victim removed in an earlier pass is added back (not measured) before its removal.
	next, out := 0, map[string]bool{}
	// receive labels the receiver's work (-tagfocus=side=receive isolates it in a profile).
	receive := pprof.WithLabels(ctx, pprof.Labels("side", "receive"))
	perf := openPerfControl(b)
	b.Run(fmt.Sprintf("%dx1", n), func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var cpu time.Duration
		var m0, m1 runtime.MemStats
		var rxBytes, rxAllocs uint64 // allocated during the receive (the process's: the admin idles then)
		var written, stmts uint64    // the receiver's store: bytes bound to writes, statements
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			victim := others[next%len(others)]
			next++
			if out[victim.id] {
				if err := admin.c.AddMembers(ctx, g, victim.id); err != nil {
					b.Fatal(err)
				}
				for _, e := range collect() {
					protocol.Inject(rx.c, e.Topic, e.Payload)
				}
				inSync("an add")
			}
			if err := admin.c.RemoveMembers(ctx, g, victim.id); err != nil {
				b.Fatal(err)
			}
			envs := collect()
			if len(envs) == 0 {
				b.Fatal("the removal published nothing")
			}
			out[victim.id] = true
			runtime.ReadMemStats(&m0)
			pprof.SetGoroutineLabels(receive)
			w0, n0 := rx.store.WriteArgBytes(), rx.store.Statements()
			perf.set(b, true)
			t0 := threadCPU()
			for _, e := range envs {
				protocol.Inject(rx.c, e.Topic, e.Payload)
			}
			cpu += time.Duration(threadCPU() - t0)
			perf.set(b, false)
			written += rx.store.WriteArgBytes() - w0
			stmts += rx.store.Statements() - n0
			pprof.SetGoroutineLabels(ctx)
			runtime.ReadMemStats(&m1)
			rxBytes += m1.TotalAlloc - m0.TotalAlloc
			rxAllocs += m1.Mallocs - m0.Mallocs
			inSync("a removal")
		}
		per := cpu / time.Duration(b.N)
		b.ReportMetric(float64(per.Nanoseconds()), "cpu-ns/op")
		b.ReportMetric(float64(rxBytes)/float64(b.N), "rx-B/op")
		b.ReportMetric(float64(rxAllocs)/float64(b.N), "rx-allocs/op")
		b.ReportMetric(float64(written)/float64(b.N), "rx-write-B/op")
		b.ReportMetric(float64(stmts)/float64(b.N), "rx-stmts/op")
		b.ReportMetric(float64(floor.Nanoseconds()), "floor-ns")
		b.ReportMetric(float64(per)/float64(floor), "x-floor")
	})
}

// keyScheduleReceiveFloor is the key schedule's own receive of a rekey with slots slots
// (package epoch over a real Double Ratchet session, no store): thread CPU, median of 7.
func keyScheduleReceiveFloor(b *testing.B, slots int) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var g epoch.ID
	var author epoch.Installation
	rand.Read(g[:])
	rand.Read(author[:])
	sched := epoch.NewSchedule(g)
	var c epoch.ID
	var seed epoch.Seed
	rand.Read(c[:])
	rand.Read(seed[:])
	must(b, sched.Apply(epoch.Event{ID: c}))
	must(b, sched.SetSeed(c, &seed))
	cur, err := sched.Current()
	must(b, err)
	ad := make([]byte, 2*33+2*16+1)
	ad[len(ad)-1] = 0x03
	recipients := make([]epoch.Installation, slots)
	sessions := make([]*doubleratchet.Session, slots)
	for i := range sessions {
		rand.Read(recipients[i][:])
		sessions[i], _ = drPair(b)
	}
	const topic = "/waku/2/chorus-v2/proto"
	var samples []time.Duration
	for range 7 {
		me := slots / 2
		var rcv *doubleratchet.Session
		sessions[me], rcv = drPair(b)
		var nonce [epoch.NonceSize]byte
		rand.Read(nonce[:])
		rand.Read(seed[:])
		kb := epoch.NewRekey(g, author, nonce, sched.Frontier())
		ctx := kb.Context(g)
		slotAD := append(slices.Clone(ad), ctx[:]...)
		pt, err := (&epoch.SlotPlaintext{Kind: epoch.SlotSeed, Seed: seed}).MarshalBinary()
		must(b, err)
		kb.Slots = make([]epoch.Slot, slots)
		for i, s := range sessions {
			msg, err := s.Encrypt(pt, slotAD)
			must(b, err)
			kb.Slots[i] = epoch.Slot{Hint: epoch.SlotHint(kb.Event, recipients[i]), Kind: epoch.SlotSession, Message: msg}
		}
		block, err := kb.MarshalBinary()
		must(b, err)
		frame := append(binary.BigEndian.AppendUint32([]byte{0x02, 0x01}, uint32(len(block))), block...)
		payload, err := epoch.SealOuter(rand.Reader, &cur, topic, frame)
		must(b, err)
		t0 := threadCPU()
		s := sched.Clone()
		f, _, err := epoch.OpenOuter(s.Live(), topic, payload)
		must(b, err)
		got, err := epoch.ParseKeyBlock(g, f[6:])
		must(b, err)
		sl, ok := got.Find(epoch.SlotHint(got.Event, recipients[me]))
		if !ok {
			b.Fatal("floor: no slot")
		}
		gctx := got.Context(g)
		plain, err := rcv.Decrypt(rand.Reader, sl.Message, append(slices.Clone(ad), gctx[:]...))
		must(b, err)
		sp, err := epoch.ParseSlotPlaintext(plain)
		must(b, err)
		must(b, s.Apply(epoch.Event{ID: got.Event, Prev: got.Prev}))
		must(b, s.SetSeed(got.Event, &sp.Seed))
		ep, err := s.Current()
		must(b, err)
		_ = ep.OuterKey()
		samples = append(samples, time.Duration(threadCPU()-t0))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return samples[len(samples)/2]
}

func drPair(b *testing.B) (a, r *doubleratchet.Session) {
	var sk [32]byte
	_, err := io.ReadFull(rand.Reader, sk[:])
	must(b, err)
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	must(b, err)
	a, err = doubleratchet.NewInitiator(rand.Reader, sk, [32]byte(key.PublicKey().Bytes()))
	must(b, err)
	r, err = doubleratchet.NewResponder(sk, key)
	must(b, err)
	return a, r
}

// TestKeyEventReceiveStatements: the store statements a warm receiver runs for a removal's
// key event (issue 13; BEGIN and COMMIT not counted). The author's installation is read
// through the message path's view (no SELECT once met, neither for the key block nor for
// the session its slot opens).
func TestKeyEventReceiveStatements(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 62}, 0)
	admin, rx, others, g := keyEventGroup(t, tn, "stmts", 9)
	ctx := context.Background()
	info, _ := admin.c.Group(ctx, g)
	tp := newTapTB(t, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	remove := func(victim *peer) uint64 {
		t.Helper()
		if err := admin.c.RemoveMembers(ctx, g, victim.id); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(tp.all()) == seen && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()
		before := rx.store.Statements()
		for _, e := range envs[seen:] {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		n := rx.store.Statements() - before
		seen = len(envs)
		_, _, want := protocol.EpochInfo(admin.c, g)
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			t.Fatal("receiver not on the admin's epoch after a removal")
		}
		if err := protocol.CheckHotViews(rx.c); err != nil {
			t.Fatal(err)
		}
		return n
	}
	remove(others[0]) // warm
	// Every removal after it, also once the epochs of the first ones retire (their
	// chains deleted: more than maxKeptSeeds key events).
	for i, victim := range others[1:] {
		if n := remove(victim); n > 8 {
			t.Errorf("key event %d received ran %d statements, want ≤ 8", i+2, n)
		}
	}
}

// keyEventGroup has an admin create group name with a receiver rx and n other members,
// contacts of the admin stopped after setup (only the admin and rx run), and waits until
// both hold it.
func keyEventGroup(tb testing.TB, tn *testNet, name string, n int) (admin, rx *peer, others []*peer, g protocol.GroupID) {
	tb.Helper()
	admin, rx = tn.add("admin"), tn.add("rx")
	tn.connect(admin, rx)
	for i := range n {
		p := tn.add(fmt.Sprintf("m%d", i))
		tn.connect(admin, p)
		p.stop()
		others = append(others, p)
	}
	g, err := admin.c.CreateGroup(context.Background(), name, "", append(ids(others...), rx.id)...)
	if err != nil {
		tb.Fatal(err)
	}
	tn.settle(admin, rx)
	return admin, rx, others, g
}
