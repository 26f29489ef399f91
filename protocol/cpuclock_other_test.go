//go:build !linux

package protocol_test

import "time"

// threadCPU falls back to wall time where thread CPU is not available.
func threadCPU() int64 { return time.Now().UnixNano() }

// processCPUNanos falls back to wall time too.
func processCPUNanos() int64 { return time.Now().UnixNano() }
