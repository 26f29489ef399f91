package protocol_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/floor"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

func BenchmarkFloor(b *testing.B) {
	floor.Run(b)
	floor.RunStore(b)
}

// benchGroup returns a two-member group with keys distributed, and a tap on its topic.
func benchGroup(b testing.TB) (*testNet, *peer, *peer, protocol.GroupID, *tap) {
	tn, a, c, g := benchGroupUntapped(b)
	info, _ := a.c.Group(context.Background(), g)
	return tn, a, c, g, newTapTB(b, tn.net, info.Topic)
}

// benchGroupUntapped is benchGroup without the tap (a subscriber of the network's own,
// whose wake-up and copy on every publish BenchmarkSend would measure with the send).
func benchGroupUntapped(b testing.TB) (*testNet, *peer, *peer, protocol.GroupID) {
	tn := newTestNet(b, memory.Config{Seed: 29}, 2)
	a, c := tn.peers[0], tn.peers[1]
	tn.connect(a, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "bench", "", c.id)
	if err != nil {
		b.Fatal(err)
	}
	tn.settle()
	if _, err := c.c.Send(ctx, g, protocol.Text("warm up")); err != nil {
		b.Fatal(err)
	}
	tn.settle()
	if v2, _, _ := protocol.EpochInfo(a.c, g); !v2 {
		b.Fatal("the benchmark group is not on key schedule v2")
	}
	return tn, a, c, g
}

// BenchmarkSend measures Client.Send of an ordinary group message: seal, the storing
// transaction, one publish (in-memory transport) and the transaction marking it published.
// The other member is paused and nothing else subscribes to the group's topic: the
// publish hands the envelope to the sender's own subscription only.
func BenchmarkSend(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100B", 100}, {"1KiB", 1024}} {
		b.Run(size.name, func(b *testing.B) {
			_, a, other, g := benchGroupUntapped(b)
			other.pause() // measure the sender alone
			text := protocol.Text(strings.Repeat("x", size.n))
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			cpu0 := processCPU(b)
			for i := 0; i < b.N; i++ {
				if _, err := a.c.Send(ctx, g, text); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, processCPU(b)-cpu0)
		})
	}
}

// BenchmarkReceive measures the receiving side of an ordinary group message through the
// whole engine: outer decryption, routing by key id, senderkeys Open, and one store
// transaction with the new receiver state, replay marker and message.
func BenchmarkReceive(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100B", 100}, {"1KiB", 1024}, {"Max", protocol.MaxFrame - 1024}} {
		b.Run(size.name, func(b *testing.B) {
			tn, a, _, g, tp := benchGroup(b)
			ctx := context.Background()
			text := protocol.Text(strings.Repeat("y", size.n))
			// Produce the messages first, while the receiver is not running; then feed them
			// to it by hand.
			rcv := tn.peers[1]
			rcv.pause()
			for i := 0; i < b.N; i++ {
				if _, err := a.c.Send(ctx, g, text); err != nil {
					b.Fatal(err)
				}
			}
			tn.settle(a)
			envs := tp.all()
			b.ReportAllocs()
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			cpu0 := processCPU(b)
			for i := 0; i < b.N && i < len(envs); i++ {
				protocol.Inject(rcv.c, envs[i].Topic, envs[i].Payload)
			}
			reportCPU(b, processCPU(b)-cpu0)
		})
	}
}

// reportCPU reports the process's CPU time (every thread: background goroutines and the
// transport included) per operation, steadier than wall time on a loaded machine.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
