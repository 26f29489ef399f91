package waku

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// exchangeAndClose runs a relay+store+service node, a relay node and a light node
// through publish, receive, history and close.
func exchangeAndClose(t testing.TB, dir string, logger bool) {
	ctx := context.Background()
	cfg := func(c Config) Config {
		if logger {
			c.Logger = testLogger()
		}
		return c
	}
	a, err := New(ctx, cfg(Config{Service: true, Store: true, StorePath: filepath.Join(dir, "a.db")}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, cfg(Config{Peers: addrs(a), StorePeers: addrs(a)}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ctx, cfg(Config{Light: true, Peers: addrs(a)}))
	if err != nil {
		t.Fatal(err)
	}
	waitPeers(t, map[*Node]int{a: 1, b: 1, l: 1})
	tp := "/chorus/1/quiet/proto"
	ch, _ := b.Subscribe(ctx, []string{tp})
	lch, _ := l.Subscribe(ctx, []string{tp})
	if _, err := l.Publish(ctx, tp, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []<-chan struct{}{recv(ch), recv(lch)} {
		select {
		case <-c:
		case <-time.After(20 * time.Second):
			t.Fatal("message not received")
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, err := b.History(ctx, []string{tp}, time.Time{}, time.Time{})
		if err == nil && len(h) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history: %v %v", h, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, n := range []*Node{l, b, a} {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func recv[T any](ch <-chan T) <-chan struct{} {
	c := make(chan struct{})
	go func() { <-ch; close(c) }()
	return c
}

// TestNothingOnStdoutOrStderr runs nodes in a child process (go-waku configures
// process-wide logging at import) and requires both outputs to stay empty.
func TestNothingOnStdoutOrStderr(t *testing.T) {
	if os.Getenv("CHORUS_WAKU_QUIET_CHILD") == "1" {
		exchangeAndClose(t, t.TempDir(), false)
		os.Exit(0) // before the test framework prints anything
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNothingOnStdoutOrStderr$")
	cmd.Env = append(os.Environ(), "CHORUS_WAKU_QUIET_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Fatalf("output with a nil Logger:\nstdout:\n%s\nstderr:\n%s", stdout.Bytes(), stderr.Bytes())
	}
}

// TestGoroutinesAfterClose: closing nodes leaves only go-waku's known 5 goroutines per
// node (an in-memory ENR database it never closes).
func TestGoroutinesAfterClose(t *testing.T) {
	before := runtime.NumGoroutine()
	exchangeAndClose(t, t.TempDir(), true)
	const known = 5 * 3
	deadline := time.Now().Add(10 * time.Second)
	// No peer-manager loop may survive Close: upstream go-waku blocked its peer-event loop
	// forever on a nil topic-health channel after the first health change (patched in
	// third_party/go-waku, CHORUS-PATCH.md).
	peerManagerLeft := func() bool {
		buf := make([]byte, 1<<20)
		return bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("peermanager.(*PeerManager)"))
	}
	for runtime.NumGoroutine() > before+known || peerManagerLeft() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after closing 3 nodes (allowed +%d)\n%s",
				before, runtime.NumGoroutine(), known, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
