package main

import (
	"context"
	"fmt"
	"io"
)

// runDemo will run the narrated end-to-end scenario once the engine lands. Until then it
// says honestly what exists and fails, so nobody mistakes it for a working demo.
func runDemo(_ context.Context, _ []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "Chorus demo: not available yet.")
	fmt.Fprintln(stdout, "The end-to-end scenario (embedded Waku network, group chat) needs the protocol engine, which is not on main yet.")
	fmt.Fprintln(stdout, "What exists so far: see README.md (Status) — run `make test` to exercise it.")
	fmt.Fprintln(stderr, "chorus demo: engine not implemented yet")
	return 1
}
