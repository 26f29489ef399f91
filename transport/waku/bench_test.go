package waku

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"

	"github.com/chorus-im/chorus/transport"

	"github.com/chorus-im/chorus/internal/floor"
	"github.com/chorus-im/chorus/transport/transporttest"
)

// pair returns two connected relay nodes with the given publish pacing.
func pair(b *testing.B, rate float64) (*Node, *Node) {
	a := start(b, Config{PublishRate: rate})
	c := start(b, Config{PublishRate: rate, Peers: addrs(a)})
	waitPeers(b, map[*Node]int{a: 1, c: 1})
	return a, c
}

// BenchmarkLatency: publish→receive between two in-process relay nodes (one message in
// flight), p50/p99 reported.
func BenchmarkLatency(b *testing.B) {
	for _, s := range transporttest.Sizes {
		b.Run(s.Name, func(b *testing.B) {
			a, c := pair(b, -1)
			transporttest.BenchLatency(b, a, c, s.N)
		})
	}
}

// BenchmarkThroughput: back-to-back publishes with the default pacing
// (DefaultPublishRate); fails on any loss.
func BenchmarkThroughput(b *testing.B) {
	for _, s := range transporttest.Sizes {
		b.Run(s.Name, func(b *testing.B) {
			a, c := pair(b, 0)
			transporttest.BenchThroughput(b, a, c, s.N)
		})
	}
}

func BenchmarkFloor(b *testing.B) { floor.Run(b) }

// BenchmarkCatchUp10k: one History call fetching 10,000 messages from a store peer on
// loopback, over store v3 (our server) and over legacy store v2 (go-waku's), and a
// store v3 hash-only query over the same messages. bytes-in/op is what the client
// received over libp2p (all protocols).
func BenchmarkCatchUp10k(b *testing.B) {
	const total = 10_000
	sp := newStorePair(b, total)
	topics := []string{topicA, topicB}
	run := func(b *testing.B, c *Node, bw *metrics.BandwidthCounter, hashesOnly bool) {
		time.Sleep(1100 * time.Millisecond) // the counters' meters update every second
		before := bw.GetBandwidthTotals()
		b.ResetTimer()
		for range b.N {
			var n int
			var err error
			if hashesOnly {
				var hs [][32]byte
				hs, err = c.HistoryHashes(context.Background(), topics, time.Time{}, time.Time{})
				n = len(hs)
			} else {
				var envs []transport.Envelope
				envs, err = c.History(context.Background(), topics, time.Time{}, time.Time{})
				n = len(envs)
			}
			if err != nil || n != total {
				b.Fatalf("%d messages, %v", n, err)
			}
		}
		b.StopTimer()
		time.Sleep(1100 * time.Millisecond)
		after := bw.GetBandwidthTotals()
		b.ReportMetric(float64(after.TotalIn-before.TotalIn)/float64(b.N), "bytes-in/op")
		b.ReportMetric(float64(after.TotalOut-before.TotalOut)/float64(b.N), "bytes-out/op")
	}
	b.Run("v3", func(b *testing.B) { run(b, sp.v3Client, sp.v3BW, false) })
	b.Run("legacy", func(b *testing.B) { run(b, sp.legacyClient, sp.legacyBW, false) })
	b.Run("v3-hashes", func(b *testing.B) { run(b, sp.v3Client, sp.v3BW, true) })
}
