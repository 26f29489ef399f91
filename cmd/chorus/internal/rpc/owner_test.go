package rpc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestClientChecksSocketOwner: the client refuses a socket reached through a symlink or
// owned by another user (someone else's process could impersonate the node and read
// what we send or feed us fake messages) (issue 19 item 7).
func TestClientChecksSocketOwner(t *testing.T) {
	cl, _ := serve(t)
	ctx := context.Background()
	if err := cl.Call(ctx, "status", nil, nil); err != nil {
		t.Fatalf("own socket: %v", err)
	}
	link := filepath.Join(t.TempDir(), "chorus.sock")
	if err := os.Symlink(cl.Path, link); err != nil {
		t.Fatal(err)
	}
	if err := (Client{Path: link}).Call(ctx, "status", nil, nil); !errors.Is(err, ErrForeignSocket) {
		t.Fatalf("socket through a symlink: %v", err)
	}
	if os.Getuid() != 0 {
		t.Log("a socket owned by another user needs root to set up: only the symlink case ran")
		return
	}
	if err := os.Lchown(cl.Path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	defer os.Lchown(cl.Path, os.Getuid(), os.Getgid())
	if err := cl.Call(ctx, "status", nil, nil); !errors.Is(err, ErrForeignSocket) {
		t.Fatalf("socket owned by another user: %v", err)
	}
	if cl.Running(ctx) {
		t.Fatal("Running trusts a socket owned by another user")
	}
}
