//go:build !linux

package rpc

import (
	"errors"
	"net"
	"syscall"
)

// sameUser relies on the socket's file mode (0600 in a 0700 directory) where peer
// credentials are not available.
func sameUser(net.Conn) bool { return true }

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
