package protocol_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// panicOnce returns a commit hook that panics in the first transaction after it is armed.
func panicOnce() (hook func() error, arm func(), fired func() bool) {
	var armed, hit atomic.Bool
	hook = func() error {
		if armed.CompareAndSwap(true, false) {
			hit.Store(true)
			panic("test: a bug in the engine")
		}
		return nil
	}
	return hook, func() { armed.Store(true) }, hit.Load
}

// TestPanicInReceiveContained: a panic while an inbound envelope is processed (a bug that
// network input reaches) is contained: the client logs it, skips that envelope, and keeps
// running — its receive loop takes the next message, its API works — instead of taking
// the embedding process down (and, the envelope coming back with every catch-up, again at
// every restart).
func TestPanicInReceiveContained(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 211}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "contain", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	hook, arm, fired := panicOnce()
	protocol.SetCommitHookForTest(b.c, hook)
	arm()
	if _, err := a.c.Send(ctx, g, protocol.Text("poison")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !fired() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !fired() {
		t.Fatal("the hook never ran: b processed nothing")
	}
	if _, err := a.c.Send(ctx, g, protocol.Text("after")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b receives the message after the panic", func() bool { return b.texts(g)["after"] == 1 })

	// An API call whose transaction panics returns ErrInternal; the next one works.
	b.pause() // no background transaction takes the armed panic
	arm()
	if _, err := b.c.Send(ctx, g, protocol.Text("lost")); !errors.Is(err, protocol.ErrInternal) {
		t.Fatalf("Send with a panicking transaction: %v, want ErrInternal", err)
	}
	if _, err := b.c.Send(ctx, g, protocol.Text("from b")); err != nil {
		t.Fatalf("Send after a contained panic: %v", err)
	}
	tn.settle(a)
	if got := a.texts(g); got["from b"] != 1 || got["lost"] != 0 {
		t.Fatalf("a's texts %v: want b's second text once and not the one whose transaction panicked", got)
	}
}
