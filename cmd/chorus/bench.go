package main

import (
	"context"
	"fmt"
	"io"

	"github.com/chorus-im/chorus/sim"
)

// runBench runs the scale simulation (package sim) and prints its tables:
//
//	chorus bench scale [-n 10,100,400] [-large] [-d 1,3] ...
//
// The micro-benchmarks (primitive floor, x3dh, doubleratchet, senderkeys, membership,
// transport, engine) need the Go toolchain and the source tree: `make bench` runs them and
// then this command.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "scale" {
		fmt.Fprintln(stderr, "usage: chorus bench scale [flags]   (the micro-benchmark tables: make bench)")
		return 2
	}
	return sim.Main(ctx, args[1:], stdout, stderr)
}
