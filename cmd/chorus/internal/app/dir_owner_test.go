package app

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEnsureRefusesSymlinksAndForeignDirs: Ensure does not follow a symlink (it could
// point into someone else's directory) and refuses a directory owned by another user
// (issue 19 item 7).
func TestEnsureRefusesSymlinksAndForeignDirs(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Dir(link).Ensure(); err == nil {
		t.Fatal("Ensure followed a symlink")
	}
	if _, err := Dir(real).Ensure(); err != nil {
		t.Fatalf("own directory: %v", err)
	}
	if os.Getuid() != 0 {
		t.Log("a directory owned by another user needs root to set up: only the symlink case ran")
		return
	}
	foreign := filepath.Join(base, "foreign")
	if err := os.Mkdir(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(foreign, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Dir(foreign).Ensure(); err == nil {
		t.Fatal("Ensure accepted a directory owned by another user")
	}
	if fi, _ := os.Stat(foreign); fi.Mode().Perm() != 0o755 {
		t.Fatalf("Ensure changed a foreign directory's mode to %v", fi.Mode().Perm())
	}
}
