package transporttest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Sizes are the payload sizes of the transport benchmarks.
var Sizes = []struct {
	Name string
	N    int
}{{"100B", 100}, {"1KiB", 1024}}

// BenchLatency measures publish→receive latency from pub to a subscription on recv, one
// message in flight at a time, and reports the p50 and p99 in µs.
func BenchLatency(b *testing.B, pub, recv Node, size int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp := fmt.Sprintf("/chorus/1/bench-lat-%d/proto", size)
	ch, err := recv.Subscribe(ctx, []string{tp})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		payload[0], payload[1], payload[2] = byte(i), byte(i>>8), byte(i>>16)
		start := time.Now()
		h, err := pub.Publish(ctx, tp, payload)
		if err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case e := <-ch:
				if e.Hash != h {
					continue // a straggler from an earlier run
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("message %d not received", i)
			}
			break
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchThroughput publishes b.N messages back to back from pub and waits until recv has
// received every one of them; it reports msg/s and fails on any loss. The publisher is
// paced only by the transport itself.
func BenchThroughput(b *testing.B, pub, recv Node, size int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp := fmt.Sprintf("/chorus/1/bench-tput-%d/proto", size)
	ch, err := recv.Subscribe(ctx, []string{tp})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	done := make(chan int, 1)
	total := b.N
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	go func() {
		got := 0
		idle := time.NewTimer(10 * time.Second)
		defer idle.Stop()
		for got < total {
			select {
			case <-ch:
				got++
				idle.Reset(10 * time.Second)
			case <-idle.C:
				done <- got
				return
			}
		}
		done <- got
	}()
	for i := 0; i < total; i++ {
		payload[0], payload[1], payload[2], payload[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		if _, err := pub.Publish(ctx, tp, payload); err != nil {
			b.Fatal(err)
		}
	}
	got := <-done
	elapsed := time.Since(start)
	b.StopTimer()
	if got != total {
		b.Fatalf("lost %d of %d messages (publisher stats %+v, receiver stats %+v)", total-got, total, pub.Stats(), recv.Stats())
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msg/s")
}
