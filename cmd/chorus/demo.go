package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/chorus-im/chorus/cmd/chorus/internal/demo"
)

const demoSynopsis = "demo [-v] [--keep DIR]"

// runDemo runs the narrated end-to-end scenario (internal/demo): exit 0 only if every
// expectation held.
func runDemo(ctx context.Context, s *stdio, args []string) int {
	var verbose bool
	var keep string
	fs := newFlags("demo")
	fs.BoolVar(&verbose, "v", false, "log engine and network diagnostics to stderr")
	fs.StringVar(&keep, "keep", "", "put the databases in `DIR` and keep them (default: a temporary directory, removed)")
	pos, err := parse(fs, args, s, demoSynopsis)
	if err != nil {
		return fail(s, nil, err)
	}
	if len(pos) != 0 {
		return fail(s, nil, usagef("unexpected arguments %q (usage: chorus %s)", pos, demoSynopsis))
	}
	o := demo.Options{Out: s.out, Dir: keep}
	if verbose {
		o.Logger = slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	res, err := demo.Run(ctx, o)
	if err != nil {
		return fail(s, nil, err)
	}
	if !res.OK() {
		fmt.Fprintf(s.err, "chorus demo: %d expectation(s) failed\n", len(res.Failed()))
		return exitFailure
	}
	return exitOK
}
