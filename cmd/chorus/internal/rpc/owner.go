package rpc

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrForeignSocket means the socket path is not a socket of ours: a symlink, another
// kind of file, a socket owned by another user, or one served by another user's
// process. The client refuses to talk to it (it would hand that user what we send and
// trust what it answers).
var ErrForeignSocket = errors.New("rpc: not a node socket owned by you")

// checkSocket verifies, without following symlinks, that path is a socket owned by us.
func checkSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%w: %s is not a socket (%v)", ErrForeignSocket, path, fi.Mode().Type())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s belongs to another user", ErrForeignSocket, path)
	}
	return nil
}
