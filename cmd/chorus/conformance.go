package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chorus-im/chorus/internal/statussample"
)

// runConformance implements `chorus conformance status-membership DIR`: it checks every
// case of every *.json file in DIR (the format of shared/vectors/status-membership) against
// the membership package under the status rules and prints one line per failing case, then
// "N passed, M failed". A malformed file or case counts as a failed case, never a crash.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbose := false
	var rest []string
	for _, a := range args {
		if a == "-v" || a == "--verbose" {
			verbose = true
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) != 2 || rest[0] != "status-membership" {
		fmt.Fprintln(stderr, "usage: chorus conformance [-v] status-membership DIR")
		return 2
	}
	dir := rest[1]
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		fmt.Fprintf(stderr, "conformance: %v\n", err)
		return 2
	}
	sort.Strings(files)
	if len(files) == 0 {
		fmt.Fprintf(stderr, "conformance: no *.json files in %s\n", dir)
		fmt.Fprintln(stdout, "0 passed, 0 failed")
		return 1
	}
	passed, failed := 0, 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "conformance: %v\n", err)
			return 1
		}
		for _, r := range runFile(ctx, f) {
			if len(r.problems) == 0 {
				passed++
				if verbose {
					fmt.Fprintf(stdout, "ok   %s: %s\n", r.name, r.detail)
				}
				continue
			}
			failed++
			line := fmt.Sprintf("FAIL %s: %s", r.name, r.problems[0])
			if verbose && r.detail != "" {
				line = fmt.Sprintf("FAIL %s (%s): %s", r.name, r.detail, r.problems[0])
			}
			if n := len(r.problems) - 1; n > 0 && !verbose {
				line += fmt.Sprintf(" (+%d more)", n)
			}
			fmt.Fprintln(stdout, line)
			if verbose {
				for _, p := range r.problems[1:] {
					fmt.Fprintf(stdout, "    %s\n", p)
				}
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// caseResult is the outcome of one case: no problems means it passed.
type caseResult struct {
	name     string
	detail   string // what the case checks (printed with -v)
	problems []string
}

// runFile checks every case of one vector file. An unreadable or undecodable file is one
// failed case named after the file; a case that cannot be decoded fails on its own.
func runFile(ctx context.Context, path string) []caseResult {
	base := filepath.Base(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return []caseResult{{name: base, problems: []string{"unreadable file: " + err.Error()}}}
	}
	var f statussample.File
	if err := json.Unmarshal(data, &f); err != nil {
		return []caseResult{{name: base, problems: []string{"malformed file: " + err.Error()}}}
	}
	if len(f.Cases) == 0 {
		return []caseResult{{name: base, problems: []string{"malformed file: no cases"}}}
	}
	actors, actorProblems := loadActors(f.Actors)
	out := make([]caseResult, 0, len(f.Cases))
	for i, raw := range f.Cases {
		if ctx.Err() != nil {
			break
		}
		name := fmt.Sprintf("%s#%d", base, i)
		var c statussample.Case
		if err := json.Unmarshal(raw, &c); err != nil {
			out = append(out, caseResult{name: name, problems: []string{"malformed case: " + err.Error()}})
			continue
		}
		if c.ID != "" {
			name = base + ":" + c.ID
		}
		chk := &checker{actors: actors}
		for _, p := range actorProblems {
			chk.failf("actors: %s", p)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					chk.failf("panic while checking: %v", r)
				}
			}()
			chk.checkCase(&c)
		}()
		out = append(out, caseResult{name: name, detail: caseDetail(&c), problems: chk.problems})
	}
	return out
}

// checker accumulates the problems of one case.
type checker struct {
	actors   map[string]*actor
	problems []string
	ids      map[string]string // lowercase raw hex of an event entry -> event id
}

func (c *checker) failf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// expectEq records a problem when got != want.
func expectEq[T comparable](c *checker, field string, want, got T) {
	if want != got {
		c.failf("%s: expected %v, got %v", field, want, got)
	}
}

// expectList records a problem when two lists differ.
func expectList(c *checker, field string, want, got []string) {
	if len(want) == len(got) {
		same := true
		for i := range want {
			if want[i] != got[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	c.failf("%s: expected [%s], got [%s]", field, shortList(want), shortList(got))
}

// short abbreviates long key strings in messages.
func shortList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		if len(s) > 20 {
			s = s[:12] + "…" + s[len(s)-6:]
		}
		out[i] = s
	}
	return strings.Join(out, " ")
}

// caseDetail summarises what a case checks: its events by type, its messages and steps.
func caseDetail(c *statussample.Case) string {
	var types []string
	for _, e := range c.Events {
		t := e.Type
		if t == "" {
			t = "?"
		}
		types = append(types, t)
	}
	d := fmt.Sprintf("%d event(s)", len(c.Events))
	if len(types) > 0 {
		d += " [" + strings.Join(types, " ") + "]"
	}
	if len(c.Messages) > 0 {
		d += fmt.Sprintf(", %d message(s)", len(c.Messages))
	}
	if len(c.Steps) > 0 {
		d += fmt.Sprintf(", %d step(s)", len(c.Steps))
	}
	if c.Receiver.Actor != "" {
		d += ", received by " + c.Receiver.Actor
	}
	return d
}
