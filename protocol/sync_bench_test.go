package protocol_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// BenchmarkSync measures catch-up: a receiver whose store is a file (WAL, as an app's)
// comes back and Syncs 10,000 group messages of 100 B from 10 senders out of the memory
// transport's history. Each iteration starts from a copy of the same database (the
// receiver as it was when it went offline, holding every sender's key). ns/msg is the
// time per message, msgs/s its inverse; cpu-ns/msg the process CPU per message (user +
// system, every thread: only the receiver runs meanwhile), which holds up better than
// wall time on a shared machine. seq-cpu-ns/msg is the CPU of the thread that called
// Sync (locked to it): the sequential stage (dispatch, state, store), plus the work
// ahead of the next batch it takes part in once it is done with its own (ahead.go); the
// rest of that work runs on other goroutines. cpu/wall is the parallelism obtained.
func BenchmarkSync(b *testing.B) {
	const senders, per = 10, 1000
	ctx := context.Background()
	tn := newTestNet(b, memory.Config{Seed: 83}, senders)
	dir := b.TempDir()
	rcv := tn.addAt("r", filepath.Join(dir, "r.db"))
	tn.connect(tn.peers...)
	g, err := tn.peers[0].c.CreateGroup(ctx, "sync", "", ids(tn.peers[1:]...)...)
	if err != nil {
		b.Fatal(err)
	}
	tn.settle()
	for _, p := range tn.peers[:senders] {
		if _, err := p.c.Send(ctx, g, protocol.Text("key")); err != nil {
			b.Fatal(err)
		}
	}
	tn.settle()
	if n := len(rcv.texts(g)); n != 1 {
		b.Fatalf("receiver has %d distinct texts before going offline, want 1", n)
	}
	if v2, _, _ := protocol.EpochInfo(rcv.c, g); !v2 {
		b.Fatal("the benchmark group is not on key schedule v2")
	}
	// What the receiver holds already: the senders' first messages and, on v2, the
	// creation's membership message.
	held, err := rcv.c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil {
		b.Fatal(err)
	}
	rcv.stop()
	for _, p := range tn.peers[:senders] {
		p.pause()
	}
	text := protocol.Text(strings.Repeat("s", 100))
	for range per {
		for _, p := range tn.peers[:senders] {
			if _, err := p.c.Send(ctx, g, text); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run(fmt.Sprintf("%dx%d", senders, per), func(b *testing.B) {
		var total, cpu time.Duration
		var seq int64
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := range b.N {
			path := filepath.Join(dir, fmt.Sprintf("copy%d.db", i))
			copyFileB(b, filepath.Join(dir, "r.db"), path)
			store, err := persistence.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			c, err := protocol.New(ctx, store, tn.net.Join(fmt.Sprintf("r%d", i)), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
			if err != nil {
				b.Fatal(err)
			}
			start, cpu0, seq0 := time.Now(), processCPU(b), threadCPU()
			if err := c.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			seq += threadCPU() - seq0
			total += time.Since(start)
			cpu += processCPU(b) - cpu0
			msgs, err := c.Messages(ctx, g, protocol.MessageFilter{})
			if err != nil || len(msgs) != len(held)+senders*per {
				b.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, len(held)+senders*per)
			}
			c.Close()
			store.Close()
			os.Remove(path)
		}
		perMsg := float64(total.Nanoseconds()) / float64(b.N*senders*per)
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(perMsg, "ns/msg")
		b.ReportMetric(1e9/perMsg, "msgs/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*senders*per), "cpu-ns/msg")
		b.ReportMetric(float64(seq)/float64(b.N*senders*per), "seq-cpu-ns/msg")
		b.ReportMetric(float64(cpu)/float64(total), "cpu/wall")
	})
}

func copyFileB(b *testing.B, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the process's user + system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
