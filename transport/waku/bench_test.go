package waku

import (
	"testing"

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
