package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Check is one expectation of the scenario.
type Check struct {
	Step   string
	What   string
	OK     bool
	Detail string
}

// Row is one line of the summary table.
type Row struct {
	Metric, Value, Note string
}

// Result is the outcome of a demo run.
type Result struct {
	Checks  []Check
	Skipped []string // steps not run, with the reason
	Summary []Row
	Elapsed time.Duration
}

// OK reports whether every expectation held.
func (r *Result) OK() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failed returns the checks that did not hold.
func (r *Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// printSummary writes the summary table and the verdict.
func (r *Result) printSummary(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Summary")
	fmt.Fprintln(w, strings.Repeat("─", 78))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tvalue\tnote")
	for _, row := range r.Summary {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.Metric, row.Value, row.Note)
	}
	tw.Flush()
	fmt.Fprintln(w, strings.Repeat("─", 78))
	passed := len(r.Checks) - len(r.Failed())
	fmt.Fprintf(w, "%d/%d expectations held", passed, len(r.Checks))
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, ", %d step(s) skipped", len(r.Skipped))
	}
	fmt.Fprintf(w, "; %.1fs\n", r.Elapsed.Seconds())
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped: %s\n", s)
	}
	for _, c := range r.Failed() {
		fmt.Fprintf(w, "  FAILED [%s] %s: %s\n", c.Step, c.What, c.Detail)
	}
}

// latencies summarises durations as "p50 / max".
func latencies(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%s / %s", round(s[len(s)/2]), round(s[len(s)-1]))
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	default:
		return d.Round(time.Millisecond).String()
	}
}
