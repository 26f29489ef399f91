package memory

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestRateLimitQuota(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	net := NewNetwork(Config{RateLimit: 2, Epoch: 10 * time.Second, Now: clk.now})
	defer net.Close()
	a := net.Join("a")
	var rl transport.RateLimiter = a
	if n, e := rl.RateLimit(); n != 2 || e != 10*time.Second {
		t.Fatalf("RateLimit = %d, %s", n, e)
	}
	q := a.Quota(clk.now())
	if q.Limit != 2 || q.Remaining != 2 || q.Epoch != 100_000 || !q.ResetAt.Equal(time.Unix(1_000_010, 0)) {
		t.Fatalf("fresh quota %+v", q)
	}
	ctx := context.Background()
	for i := range 2 {
		if _, err := a.Publish(ctx, "t", []byte{byte(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if q := a.Quota(clk.now()); q.Remaining != 0 {
		t.Fatalf("quota after 2 sends %+v", q)
	}
	if _, err := a.Publish(ctx, "t", []byte{3}); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("third publish: %v", err)
	}
	if st := a.Stats(); st.Publishes != 2 {
		t.Fatalf("refused publish counted: %+v", st)
	}
	// Another client has its own quota.
	if _, err := net.Join("b").Publish(ctx, "t", []byte{4}); err != nil {
		t.Fatal(err)
	}
	// A restart within the epoch keeps the count.
	_ = a.Close()
	a2 := net.Join("a")
	if q := a2.Quota(clk.now()); q.Remaining != 0 {
		t.Fatalf("quota after restart %+v", q)
	}
	if _, err := a2.Publish(ctx, "t", []byte{5}); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("publish after restart in the same epoch: %v", err)
	}
	// The next epoch resets it, exactly at ResetAt.
	clk.add(10*time.Second - time.Nanosecond)
	if q := a2.Quota(clk.now()); q.Remaining != 0 {
		t.Fatalf("quota just before ResetAt %+v", q)
	}
	clk.add(time.Nanosecond)
	if q := a2.Quota(clk.now()); q.Remaining != 2 || q.Epoch != 100_001 {
		t.Fatalf("quota at ResetAt %+v", q)
	}
	if _, err := a2.Publish(ctx, "t", []byte{6}); err != nil {
		t.Fatal(err)
	}
}

func TestNoRateLimit(t *testing.T) {
	net := NewNetwork(Config{})
	defer net.Close()
	a := net.Join("a")
	if n, _ := a.RateLimit(); n != 0 {
		t.Fatalf("RateLimit = %d", n)
	}
	for i := range 100 {
		if _, err := a.Publish(context.Background(), "t", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
}
