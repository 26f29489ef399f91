//go:build unix

package persistence

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReview13LockThroughSymlink (review 13): Open locks path+"-lock", named after the
// path it is given, but sqlite opens the file the path leads to (the unix VFS resolves a
// symlinked database file). A second Open of a database held open, through a symlink to
// its file, takes a different lock file and succeeds: two Stores on one database — what
// ErrLocked exists to refuse (review 10, TestReview10OpenTwice: two engines sealed two
// messages under one message key). Here real.db is held open and link.db -> real.db is
// opened (measured: both Stores use real.db-wal and real.db-shm, no link.db-wal: sqlite
// resolved the link; the locks are real.db-lock and link.db-lock).
//
// Asserted: the second Open fails with ErrLocked.
func TestReview13LockThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.db"), filepath.Join(dir, "link.db")
	a, err := Open(real)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := os.Symlink("real.db", link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	b, err := Open(link)
	if errors.Is(err, ErrLocked) {
		return
	}
	if err != nil {
		t.Fatalf("second Open through a symlink: %v, want ErrLocked", err)
	}
	defer b.Close()
	t.Errorf("a database held open (%s) opened again through a symlink to it (%s) without ErrLocked: two Stores on one database", real, link)
}

// TestLockThroughDanglingSymlink: a symlink to a database not created yet takes the lock
// of the file it leads to, which sqlite creates there.
func TestLockThroughDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "sub", "real.db"), filepath.Join(dir, "link.db")
	if err := os.Mkdir(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("sub", "real.db"), link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	a, err := Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := os.Stat(real + "-lock"); err != nil {
		t.Fatalf("no lock beside the file the link leads to: %v", err)
	}
	if b, err := Open(real); !errors.Is(err, ErrLocked) {
		if err == nil {
			b.Close()
		}
		t.Fatalf("Open of the file a held link leads to: %v, want ErrLocked", err)
	}
}
