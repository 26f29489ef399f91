package protocol_test

import (
	"context"
	"crypto/rand"
	"syscall"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// BenchmarkJunkGroup measures what one junk frame on a group topic we read costs (no
// group key opens it), fresh and replayed.
func BenchmarkJunkGroup(b *testing.B) {
	tn, _, _, g, _ := benchGroup(b)
	rcv := tn.peers[1]
	rcv.pause()
	info, err := rcv.c.Group(context.Background(), g)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fresh", func(b *testing.B) {
		frames := make([][]byte, b.N)
		for i := range frames {
			frames[i] = make([]byte, 300)
			rand.Read(frames[i])
			frames[i][0] = 1 // the version byte: the frame reaches the AEAD
		}
		b.ResetTimer()
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			protocol.Inject(rcv.c, info.Topic, frames[i])
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("replay", func(b *testing.B) {
		f := make([]byte, 300)
		rand.Read(f)
		f[0] = 1
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			protocol.Inject(rcv.c, info.Topic, f)
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// cpuTime is the CPU time (user + system) the process used so far, in ns: the junk
// benchmarks report it per frame, which the load of a shared machine does not inflate
// as it does wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
