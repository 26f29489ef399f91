package chorus_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestOpenPermissions: Open keeps the data directory owner-only (tightening an existing
// 0755 one) and the database with its -wal and -shm files 0600, whatever the umask and
// whatever permissions an earlier version left them with (issue 19 item 7, issue 12 hole 6).
func TestOpenPermissions(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	net := memory.NewNetwork(memory.Config{})
	defer net.Close()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: data directory mode %v (%v), want 0700", when, fi.Mode().Perm(), err)
		}
		for _, f := range []string{chorus.DatabaseFile, chorus.DatabaseFile + "-wal", chorus.DatabaseFile + "-shm"} {
			fi, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %s mode %v, want 0600", when, f, fi.Mode().Perm())
			}
		}
	}
	c, err := chorus.Open(ctx, dir, net.Join("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccount(ctx); err != nil {
		t.Fatal(err)
	}
	check("new directory")
	c.Close()
	// An earlier version's files: world-readable everywhere.
	for _, f := range []string{"", chorus.DatabaseFile, chorus.DatabaseFile + "-wal", chorus.DatabaseFile + "-shm"} {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			mode := os.FileMode(0o644)
			if f == "" {
				mode = 0o755
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err = chorus.Open(ctx, dir, net.Join("a2"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Account(); err != nil {
		t.Fatal(err)
	}
	check("reopened")
}
