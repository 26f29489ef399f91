//go:build unix

package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile takes an exclusive lock on path+"-lock" (created 0600 beside the database's
// -wal and -shm files), held until the returned file is closed. flock locks belong to the
// open file: a second Open of the same database fails with ErrLocked whether it comes from
// another process or from this one. The lock is named after the file path leads to, as
// sqlite resolves it (symbolic links followed, as its unix VFS does for -wal and -shm):
// a path through a link takes the same lock as the file's own (review 13,
// TestReview13LockThroughSymlink). Hard links are not resolved (sqlite does not support
// them either: each name gets its own -wal).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(resolved(path)+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("persistence: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("persistence: lock: %w", err)
	}
	return f, nil
}

// resolved returns path with its symbolic links followed, also when the last one leads
// to a file not created yet (sqlite creates it there); on any error, path as given.
func resolved(path string) string {
	for range 40 { // as the kernel's bound on links followed in one lookup
		if p, err := filepath.EvalSymlinks(path); err == nil {
			return p
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			// Not there yet: its directory resolved, its name as given.
			dir, err := filepath.EvalSymlinks(filepath.Dir(path))
			if err != nil {
				return path
			}
			return filepath.Join(dir, filepath.Base(path))
		}
		target, err := os.Readlink(path) // a dangling link: follow it one step
		if err != nil {
			return path
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return path
}
