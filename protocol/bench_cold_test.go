package protocol_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// BenchmarkReceiveCold is BenchmarkReceive/100B with something between two messages, as
// the scale simulation has between two receivers measured alone: nothing (hot), a 3 ms
// sleep (the core goes to other processes), a pass over 64 MiB (the caches hold someone
// else's data) and a collection (runtime.GC, which also shrinks goroutine stacks). It
// reports the receiving thread's CPU per message (cpu-ns/op).
func BenchmarkReceiveCold(b *testing.B) {
	junk := make([]byte, 64<<20)
	for _, v := range []struct {
		name    string
		between func()
	}{
		{"hot", func() {}},
		{"sleep", func() { time.Sleep(3 * time.Millisecond) }},
		{"thrash", func() {
			for i := 0; i < len(junk); i += 64 {
				junk[i]++
			}
		}},
		{"gc", runtime.GC},
	} {
		b.Run(v.name, func(b *testing.B) {
			tn, a, _, g, tp := benchGroup(b)
			ctx := context.Background()
			text := protocol.Text(strings.Repeat("y", 100))
			rcv := tn.peers[1]
			rcv.pause()
			for i := 0; i < b.N; i++ {
				if _, err := a.c.Send(ctx, g, text); err != nil {
					b.Fatal(err)
				}
			}
			tn.settle(a)
			envs := tp.all()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu int64
			b.ResetTimer()
			for i := 0; i < b.N && i < len(envs); i++ {
				b.StopTimer()
				v.between()
				b.StartTimer()
				c0 := threadCPU()
				protocol.Inject(rcv.c, envs[i].Topic, envs[i].Payload)
				cpu += threadCPU() - c0
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
