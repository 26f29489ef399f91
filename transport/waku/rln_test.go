//go:build !gowaku_no_rln

package waku

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// rlnClock is the clock of a node's epochs: real time, or frozen at an instant.
type rlnClock struct {
	mu     sync.Mutex
	frozen time.Time
}

func (c *rlnClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now()
}

func (c *rlnClock) freeze(t time.Time) { c.mu.Lock(); c.frozen = t; c.mu.Unlock() }

func rlnConfig(dir string, cred RLNCredential, group []RLNCommitment, clk *rlnClock, _ *int) *RLNConfig {
	cfg := &RLNConfig{Credential: cred, Group: group, TreePath: filepath.Join(dir, "tree"), StatePath: filepath.Join(dir, "rln-epoch")}
	if clk != nil {
		cfg.now = clk.now
	}
	return cfg
}

// startRLN starts a node; zerokit's set-up takes seconds (tens under load).
func startRLN(t *testing.T, cfg Config) *Node {
	t.Helper()
	cfg.Logger = testLogger()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func recvRLN(ch <-chan transport.Envelope, d time.Duration) (transport.Envelope, bool) {
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(d):
		return transport.Envelope{}, false
	}
}

// TestRLNRelay runs RLN members (a, b) and a node without RLN (x) on loopback: a
// message with a proof arrives; the quota goes from 1 to 0 and resets at ResetAt; a
// second publish in the epoch is refused (rate limited) with no spam at b; a raw publish
// from x without a proof is never delivered at b; a member that lost its state proves
// twice in an epoch and the relay drops it as spam; a restarted a in the same epoch does
// not publish again.
func TestRLNRelay(t *testing.T) {
	t0 := time.Now()
	creds, err := NewRLNCredentials(3)
	if err != nil {
		t.Fatal(err)
	}
	group := []RLNCommitment{creds[0].IDCommitment, creds[1].IDCommitment, creds[2].IDCommitment}
	t.Logf("3 credentials in %v", time.Since(t0))
	dirA, dirB := t.TempDir(), t.TempDir()
	clkA := &rlnClock{}
	t1 := time.Now()
	a := startRLN(t, Config{RLN: rlnConfig(dirA, creds[0], group, clkA, nil)})
	b := startRLN(t, Config{RLN: rlnConfig(dirB, creds[1], group, nil, nil), Peers: addrs(a)})
	t.Logf("2 RLN nodes set up in %v (zerokit %v, %v)", time.Since(t1), a.RLNStats().SetupTime, b.RLNStats().SetupTime)
	// forgot has a's credential but not its state (a restart that lost StatePath).
	forgot := startRLN(t, Config{RLN: rlnConfig(t.TempDir(), creds[0], group, clkA, nil), Peers: addrs(b)})
	x := start(t, Config{Peers: addrs(a, b)})
	waitPeers(t, map[*Node]int{a: 2, b: 3, x: 2, forgot: 1})
	ctx := context.Background()
	const topic = "/chorus-test/1/rln/proto"
	subB, err := b.Subscribe(ctx, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	subX, err := x.Subscribe(ctx, []string{topic})
	if err != nil {
		t.Fatal(err)
	}

	// The quota, one proof, the delivery.
	var rl transport.RateLimiter = a
	if n, e := rl.RateLimit(); n != 1 || e != time.Second {
		t.Fatalf("RateLimit = %d, %v", n, e)
	}
	now := time.Now()
	clkA.freeze(now)
	if q := a.Quota(now); q.Limit != 1 || q.Remaining != 1 {
		t.Fatalf("quota before sending %+v", q)
	}
	if _, err := a.Publish(ctx, topic, []byte("with proof")); err != nil {
		t.Fatal(err)
	}
	q := a.Quota(now)
	if q.Remaining != 0 || q.Epoch != uint64(now.Unix()) || !q.ResetAt.Equal(time.Unix(now.Unix()+1, 0)) {
		t.Fatalf("quota after sending %+v", q)
	}
	if q2 := a.Quota(q.ResetAt); q2.Remaining != 1 || q2.Epoch != q.Epoch+1 {
		t.Fatalf("quota at ResetAt %+v", q2)
	}
	if env, ok := recvRLN(subB, 10*time.Second); !ok || string(env.Payload) != "with proof" {
		t.Fatalf("b did not receive the message with a proof (%v)", ok)
	}
	st := a.RLNStats()
	if st.Proofs != 1 {
		t.Fatalf("proofs %d", st.Proofs)
	}
	t.Logf("proof generation %v", st.ProofTime)

	// A second publish in the epoch: refused before any proof is made.
	if _, err := a.Publish(ctx, topic, []byte("second")); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("second publish in the epoch: %v", err)
	}

	// A raw publish without a proof (x is no member): x's own subscription has it, b never.
	if _, err := x.Publish(ctx, topic, []byte("no proof")); err != nil {
		t.Fatal(err)
	}
	for {
		env, ok := recvRLN(subX, 5*time.Second)
		if !ok {
			t.Fatal("x did not publish")
		}
		if string(env.Payload) == "no proof" {
			break
		}
	}
	if env, ok := recvRLN(subB, 2*time.Second); ok {
		t.Fatalf("b received %q", env.Payload)
	}
	if s := b.RLNStats().Spam; s != 0 {
		t.Fatalf("spam reported at b: %d", s)
	}

	// The same member without its state (forgot) makes a second proof in the epoch: the
	// relays' validator catches the double signal as spam — at forgot itself if a's
	// message already reached it (its own publish then fails), else at b — and b never
	// delivers it. The state file is what keeps a restarted member from getting there.
	if _, err := forgot.Publish(ctx, topic, []byte("double signal")); err == nil {
		deadline := time.Now().Add(10 * time.Second)
		for b.RLNStats().Spam == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if s := forgot.RLNStats().Spam + b.RLNStats().Spam; s != 1 {
		t.Fatalf("double signal reported %d times (forgot %d, b %d)", s, forgot.RLNStats().Spam, b.RLNStats().Spam)
	}
	if env, ok := recvRLN(subB, time.Second); ok {
		t.Fatalf("b delivered %q", env.Payload)
	}

	// Restart a within the epoch: its state refuses the epoch.
	_ = a.Close()
	clkA2 := &rlnClock{}
	clkA2.freeze(now)
	a2 := startRLN(t, Config{RLN: rlnConfig(dirA, creds[0], group, clkA2, nil), Peers: addrs(b)})
	if q := a2.Quota(now); q.Remaining != 0 {
		t.Fatalf("quota after a restart in the same epoch %+v", q)
	}
	if _, err := a2.Publish(ctx, topic, []byte("again")); !errors.Is(err, transport.ErrRateLimited) {
		t.Fatalf("publish after a restart in the same epoch: %v", err)
	}
	// zerokit's tree directories go with the nodes.
	_ = a2.Close()
	if ents, _ := os.ReadDir(filepath.Join(dirA, "tree")); len(ents) != 0 {
		t.Fatalf("tree directories left: %d", len(ents))
	}
	t.Logf("total %v", time.Since(t0))
}
