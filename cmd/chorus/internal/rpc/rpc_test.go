package rpc

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

func serve(t *testing.T) (Client, *app.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	net := memory.NewNetwork(memory.Config{})
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	c, err := protocol.New(ctx, st, net.Join("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx); err != nil {
		t.Fatal(err)
	}
	s := app.NewService(c, "", nil, app.Config{Name: "alice"}, nil, true)
	path := filepath.Join(t.TempDir(), "chorus.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- (&Server{S: s}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("socket file left behind: %v", err)
		}
		c.Close()
		st.Close()
		net.Close()
	})
	return Client{Path: path}, s
}

func TestCallAndErrors(t *testing.T) {
	cl, s := serve(t)
	ctx := context.Background()
	fi, err := os.Stat(cl.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v", fi.Mode().Perm(), err)
	}
	if !cl.Running(ctx) {
		t.Fatal("not running")
	}
	var st app.StatusView
	if err := cl.Call(ctx, "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Client().Account()
	if st.Account != a.ID || st.Name != "alice" || !st.Node {
		t.Fatalf("status %+v", st)
	}
	err = cl.Call(ctx, "read", app.ReadParams{Group: "nope"}, nil)
	var e *app.Error
	if !errors.As(err, &e) || e.Code != app.CodeUnknownGroup {
		t.Fatalf("error over the socket: %v", err)
	}
	err = cl.Call(ctx, "send", app.SendParams{Group: "nope", Text: "x"}, nil)
	if !errors.As(err, &e) || e.Code != app.CodeNoPeers {
		t.Fatalf("send without network: %v", err)
	}
	// A malformed request gets a usage error, not a hang.
	conn, err := net.Dial("unix", cl.Path)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("{nope\n"))
	buf := make([]byte, 256)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := conn.Read(buf)
	conn.Close()
	if want := `"code":"usage"`; !strings.Contains(string(buf[:n]), want) {
		t.Fatalf("malformed request answered %q", buf[:n])
	}
}

func TestWatchStreamsUntilClosed(t *testing.T) {
	cl, _ := serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	evs, err := cl.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Watch(ctx, "nope"); err == nil {
		t.Fatal("watch of an unknown group accepted")
	}
	cancel()
	select {
	case _, ok := <-evs:
		if ok {
			t.Fatal("event on an idle client")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not end with its context")
	}
}

func TestNoNode(t *testing.T) {
	cl := Client{Path: filepath.Join(t.TempDir(), "chorus.sock")}
	if cl.Running(context.Background()) {
		t.Fatal("running without a server")
	}
	if err := cl.Call(context.Background(), "status", nil, nil); !errors.Is(err, ErrNoNode) {
		t.Fatalf("call without a server: %v", err)
	}
	// A stale socket file from a crashed node is replaced.
	l, err := net.Listen("unix", cl.Path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	ln, err := Listen(cl.Path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	if _, err := Listen(cl.Path); err == nil {
		t.Fatal("second listener on a live socket")
	}
	ln.Close()
}
