// Command chorus-scale runs the scale simulation (package sim) and prints its tables:
// groups of N = 10, 100, 400 members (1000 with -large) with D = 1 and 3 installations
// per member, all in one process over the in-memory transport. See sim.Main for flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/chorus-im/chorus/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := sim.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
