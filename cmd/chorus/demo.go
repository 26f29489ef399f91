package main

import (
	"context"
	"fmt"
)

// runDemo runs the narrated end-to-end scenario (internal/demo).
func runDemo(ctx context.Context, s *stdio, args []string) int {
	fmt.Fprintln(s.err, "chorus demo: not wired yet")
	return 1
}
