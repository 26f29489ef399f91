package senderkeys

import (
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
)

func BenchmarkFloor(b *testing.B) { floor.Run(b) }

func BenchmarkSeal(b *testing.B) {
	for _, size := range floor.Sizes {
		b.Run(size.Name, func(b *testing.B) {
			o := newOwner(b, "bench-seal")
			s := o.sender(b)
			pt := make([]byte, size.N)
			b.SetBytes(int64(size.N))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Seal(pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, size := range floor.Sizes {
		b.Run(size.Name, func(b *testing.B) {
			o := newOwner(b, "bench-open")
			s := o.sender(b)
			d := o.dist(b, s)
			pt := make([]byte, size.N)
			// A pool of in-order messages, opened by a fresh receiver each round.
			msgs := make([][]byte, 1024)
			for i := range msgs {
				m, err := s.Seal(pt)
				if err != nil {
					b.Fatal(err)
				}
				msgs[i] = m
			}
			var r *Receiver
			next := len(msgs)
			b.SetBytes(int64(size.N))
			b.ReportAllocs()
			for b.Loop() {
				if next == len(msgs) {
					b.StopTimer()
					r = o.receiver()
					process(b, r, d)
					next = 0
					b.StartTimer()
				}
				if _, err := r.Open(msgs[next]); err != nil {
					b.Fatal(err)
				}
				next++
			}
		})
	}
}

// BenchmarkForwardJump2000 opens a message 2000 iterations ahead of the receiver: 2000
// message keys derived and stored, then the usual verify and decrypt.
func BenchmarkForwardJump2000(b *testing.B) {
	o := newOwner(b, "bench-jump")
	s := o.sender(b)
	r := o.receiver()
	process(b, r, o.dist(b, s))
	start := marshal(b, r)
	skipAhead(s, 2000)
	msg := seal(b, s, "after the jump")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := r.UnmarshalBinary(start); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := r.Open(msg); err != nil {
			b.Fatal(err)
		}
	}
	if n := len(r.epochs[0].skipped); n != 2000 {
		b.Fatalf("%d skipped keys", n)
	}
}

func BenchmarkDistribution(b *testing.B) {
	o := newOwner(b, "bench-dist")
	s := o.sender(b)
	b.Run("Create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := s.Distribution(o.key, o.id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
	})
	wire := marshal(b, o.dist(b, s))
	b.Run("Process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := ParseDistribution(wire)
			if err != nil {
				b.Fatal(err)
			}
			if err := o.receiver().Process(d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
