package memory

import (
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
	"github.com/chorus-im/chorus/transport/transporttest"
)

func BenchmarkLatency(b *testing.B) {
	for _, s := range transporttest.Sizes {
		b.Run(s.Name, func(b *testing.B) {
			net := NewNetwork(Config{})
			defer net.Close()
			transporttest.BenchLatency(b, net.Join("a"), net.Join("b"), s.N)
		})
	}
}

func BenchmarkThroughput(b *testing.B) {
	for _, s := range transporttest.Sizes {
		b.Run(s.Name, func(b *testing.B) {
			net := NewNetwork(Config{QueueSize: 1 << 20})
			defer net.Close()
			transporttest.BenchThroughput(b, net.Join("a"), net.Join("b"), s.N)
		})
	}
}

func BenchmarkFloor(b *testing.B) { floor.Run(b) }
