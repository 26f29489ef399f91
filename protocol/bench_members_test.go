package protocol_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// BenchmarkGroupMessageMembers is BenchmarkSend/100B and BenchmarkReceive/100B in a group of
// N accounts × 1 installation (CHORUS_BENCH_MEMBERS sets N, default 100, as the scale
// simulation's 100 × 1) instead of two: whether a message costs its sender or a receiver
// anything that grows with the group. Only the sender and the receiver run (the other
// members are stopped after setup); thread CPU per message (cpu-ns/op) and the whole
// process's (proc-cpu-ns/op: with what other threads did meanwhile, as the simulation
// counts a receiver), each operation hot (back to back, as the benchmarks) and after
// 3 ms idle (as the simulation measures).
func BenchmarkGroupMessageMembers(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("CHORUS_BENCH_MEMBERS")); err == nil && v >= 4 {
		n = v
	}
	tn := newEpochNet(b, memory.Config{Seed: 67}, 0)
	admin, rx, _, g := keyEventGroup(b, tn, "bench", n-2)
	ctx := context.Background()
	if _, err := rx.c.Group(ctx, g); err != nil {
		b.Fatalf("receiver did not join: %v", err)
	}
	info, _ := admin.c.Group(ctx, g)
	tp := newTapTB(b, tn.net, info.Topic)
	text := protocol.Text(strings.Repeat("x", 100))
	rx.pause()
	// Each operation hot (back to back) and after 3 ms idle (as a receiver measured
	// alone in the scale simulation: the core ran other processes meanwhile).
	// Receive first: the receiver takes every message in order (a gap would make it
	// step its chain over the messages it never got).
	for _, v := range []struct {
		name string
		idle time.Duration
	}{{"hot", 0}, {"idle", 3 * time.Millisecond}} {
		b.Run(fmt.Sprintf("Receive/%dx1/%s", n, v.name), func(b *testing.B) {
			b.StopTimer()
			seen := len(tp.all())
			for range b.N {
				if _, err := admin.c.Send(ctx, g, text); err != nil {
					b.Fatal(err)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(tp.all()) < seen+b.N && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			envs := tp.all()[seen:]
			if len(envs) < b.N {
				b.Fatalf("%d of %d messages published", len(envs), b.N)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.StartTimer()
			var cpu, proc int64
			for _, e := range envs[:b.N] {
				if v.idle > 0 {
					time.Sleep(v.idle)
				}
				t0, p0 := threadCPU(), processCPUNanos()
				protocol.Inject(rx.c, e.Topic, e.Payload)
				cpu += threadCPU() - t0
				proc += processCPUNanos() - p0
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(proc)/float64(b.N), "proc-cpu-ns/op")
		})
	}
	for _, v := range []struct {
		name string
		idle time.Duration
	}{{"hot", 0}, {"idle", 3 * time.Millisecond}} {
		b.Run(fmt.Sprintf("Send/%dx1/%s", n, v.name), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			var cpu, proc int64
			for range b.N {
				if v.idle > 0 {
					time.Sleep(v.idle)
				}
				t0, p0 := threadCPU(), processCPUNanos()
				if _, err := admin.c.Send(ctx, g, text); err != nil {
					b.Fatal(err)
				}
				cpu += threadCPU() - t0
				proc += processCPUNanos() - p0
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(proc)/float64(b.N), "proc-cpu-ns/op")
		})
	}
}
