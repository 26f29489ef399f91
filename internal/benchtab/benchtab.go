// Package benchtab turns `go test -bench` output into readable tables and checks the
// benchmark targets each package declares in testdata/benchtargets.txt against the
// primitive floor measured in the same run.
//
// A target line reads
//
//	Seal/100B <= 1.2 * (Floor/Secp256k1Sign + Floor/ChaChaSeal/100B + 3*Floor/HMAC)
//	ForwardJump2000 <= 1000000 ns
//	Derive1000:ns/event <= 1.3 * (Floor/Secp256k1Ecrecover)
//
// Names omit the "Benchmark" prefix and the "-N" GOMAXPROCS suffix. The left side may
// name a custom metric after a colon (default ns/op). Lines starting with # are comments.
package benchtab

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one benchmark line.
type Result struct {
	Name    string
	N       int64
	Metrics map[string]float64 // "ns/op", "B/op", "allocs/op", "MB/s", custom units
	Order   []string           // metric units in output order
}

// Package holds the results of one package, in output order.
type Package struct {
	Path    string
	Results []*Result
	byName  map[string]*Result
}

// Lookup returns the named result.
func (p *Package) Lookup(name string) (*Result, bool) {
	r, ok := p.byName[name]
	return r, ok
}

// Run is a parsed `go test -bench` output.
type Run struct {
	CPU      string
	Packages []*Package
}

var suffix = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench -benchmem` output. Unrecognised lines are ignored.
func Parse(r io.Reader) (*Run, error) {
	run := &Run{}
	var cur *Package
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			cur = &Package{Path: strings.TrimSpace(line[5:]), byName: map[string]*Result{}}
			run.Packages = append(run.Packages, cur)
		case strings.HasPrefix(line, "cpu: "):
			run.CPU = strings.TrimSpace(line[5:])
		case strings.HasPrefix(line, "Benchmark") && cur != nil:
			if res := parseLine(line); res != nil {
				if old, dup := cur.byName[res.Name]; dup {
					*old = *res // -count > 1: keep the last
					continue
				}
				cur.Results = append(cur.Results, res)
				cur.byName[res.Name] = res
			}
		}
	}
	return run, sc.Err()
}

func parseLine(line string) *Result {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return nil
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil
	}
	name := suffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
	res := &Result{Name: name, N: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil
		}
		res.Metrics[f[i+1]] = v
		res.Order = append(res.Order, f[i+1])
	}
	return res
}

// Term is coef × the ns/op of a named benchmark.
type Term struct {
	Coef float64
	Name string
}

// Target is one declared target.
type Target struct {
	Name     string // benchmark name
	Metric   string // metric compared (default ns/op)
	Limit    float64
	Terms    []Term // floor expression; empty means Limit is an absolute value in Metric units
	Line     string
	Fraction bool
}

var targetRe = regexp.MustCompile(`^(\S+)\s*<=\s*(.+)$`)

// ParseTargets reads a benchtargets.txt file.
func ParseTargets(r io.Reader) ([]Target, error) {
	var out []Target
	sc := bufio.NewScanner(r)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		t, err := parseTarget(line)
		if err != nil {
			return nil, fmt.Errorf("benchtab: line %d: %w", ln, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

func parseTarget(line string) (Target, error) {
	m := targetRe.FindStringSubmatch(line)
	if m == nil {
		return Target{}, fmt.Errorf("want `Name <= expr`, got %q", line)
	}
	t := Target{Name: m[1], Metric: "ns/op", Line: line}
	if i := strings.Index(t.Name, ":"); i >= 0 {
		t.Name, t.Metric = t.Name[:i], t.Name[i+1:]
	}
	rhs := strings.TrimSpace(m[2])
	// Absolute: "<number> <unit>".
	if f := strings.Fields(rhs); len(f) == 2 {
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			t.Limit = v
			return t, nil
		}
	}
	star := strings.Index(rhs, "*")
	if star < 0 {
		return Target{}, fmt.Errorf("want `limit * (terms)` or `value unit`, got %q", rhs)
	}
	lim, err := strconv.ParseFloat(strings.TrimSpace(rhs[:star]), 64)
	if err != nil {
		return Target{}, fmt.Errorf("bad limit in %q", rhs)
	}
	t.Limit = lim
	expr := strings.TrimSpace(rhs[star+1:])
	switch {
	case strings.HasPrefix(expr, "(") && strings.HasSuffix(expr, ")"):
		expr = expr[1 : len(expr)-1]
	case strings.ContainsAny(expr, "()+"):
		// Several terms need parentheses: "1.2 * A + B" is ambiguous.
		return Target{}, fmt.Errorf("want `limit * (terms)`, got %q", rhs)
	}
	for _, term := range strings.Split(expr, "+") {
		term = strings.TrimSpace(term)
		coef := 1.0
		if i := strings.Index(term, "*"); i >= 0 {
			if coef, err = strconv.ParseFloat(strings.TrimSpace(term[:i]), 64); err != nil {
				return Target{}, fmt.Errorf("bad coefficient in %q", term)
			}
			term = strings.TrimSpace(term[i+1:])
		}
		if term == "" {
			return Target{}, fmt.Errorf("empty term in %q", rhs)
		}
		t.Terms = append(t.Terms, Term{Coef: coef, Name: term})
	}
	return t, nil
}

// Check is a target evaluated against a run.
type Check struct {
	Target   Target
	Measured float64
	Floor    float64 // 0 for absolute targets
	Ratio    float64 // measured / floor (absolute: measured / limit)
	OK       bool
	Missing  string // name of a benchmark the target needs but the run lacks
}

// Evaluate checks targets against one package's results.
func Evaluate(p *Package, targets []Target) []Check {
	var out []Check
	for _, t := range targets {
		c := Check{Target: t}
		r, ok := p.Lookup(t.Name)
		if !ok {
			c.Missing = t.Name
			out = append(out, c)
			continue
		}
		v, ok := r.Metrics[t.Metric]
		if !ok {
			c.Missing = t.Name + ":" + t.Metric
			out = append(out, c)
			continue
		}
		c.Measured = v
		if len(t.Terms) == 0 {
			c.Ratio = v / t.Limit
			c.OK = v <= t.Limit
			out = append(out, c)
			continue
		}
		for _, term := range t.Terms {
			// A term is a benchmark's ns/op, or another of its metrics: "Name:metric".
			name, metric, found := strings.Cut(term.Name, ":")
			if !found {
				metric = "ns/op"
			}
			fr, ok := p.Lookup(name)
			if !ok {
				c.Missing = term.Name
				break
			}
			fv, ok := fr.Metrics[metric]
			if !ok {
				c.Missing = term.Name
				break
			}
			c.Floor += term.Coef * fv
		}
		if c.Missing == "" && c.Floor > 0 {
			c.Ratio = v / c.Floor
			c.OK = c.Ratio <= t.Limit
		}
		out = append(out, c)
	}
	return out
}

// FormatNs renders nanoseconds with a readable unit.
func FormatNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

func formatMetric(unit string, v float64) string {
	switch {
	case unit == "ns/op":
		return FormatNs(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// Write prints the run as markdown tables: one per package, followed by its targets.
func Write(w io.Writer, run *Run, targets map[string][]Target) {
	for _, p := range run.Packages {
		if len(p.Results) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n### %s\n\n", p.Path)
		// Collect the custom metric columns used in this package.
		extra := map[string]bool{}
		for _, r := range p.Results {
			for _, u := range r.Order {
				if u != "ns/op" && u != "B/op" && u != "allocs/op" && u != "MB/s" {
					extra[u] = true
				}
			}
		}
		cols := make([]string, 0, len(extra))
		for u := range extra {
			cols = append(cols, u)
		}
		sort.Strings(cols)
		fmt.Fprintf(w, "| benchmark | time/op | B/op | allocs/op | MB/s |")
		for _, c := range cols {
			fmt.Fprintf(w, " %s |", c)
		}
		fmt.Fprintf(w, "\n|---|---:|---:|---:|---:|")
		for range cols {
			fmt.Fprintf(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, r := range p.Results {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |", r.Name,
				cell(r, "ns/op"), cell(r, "B/op"), cell(r, "allocs/op"), cell(r, "MB/s"))
			for _, c := range cols {
				fmt.Fprintf(w, " %s |", cell(r, c))
			}
			fmt.Fprintln(w)
		}
		checks := Evaluate(p, targets[p.Path])
		if len(checks) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n| target | measured | floor (same run) | ratio | limit | |\n|---|---:|---:|---:|---:|---|\n")
		for _, c := range checks {
			if c.Missing != "" {
				fmt.Fprintf(w, "| `%s` | – | – | – | – | not run (%s missing) |\n", c.Target.Line, c.Missing)
				continue
			}
			status := "ok"
			if !c.OK {
				status = "**over**"
			}
			if len(c.Target.Terms) == 0 {
				fmt.Fprintf(w, "| `%s` | %s | – | %.2f of limit | %s | %s |\n", c.Target.Line,
					formatMetric(c.Target.Metric, c.Measured), c.Ratio, formatMetric(c.Target.Metric, c.Target.Limit), status)
				continue
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %.2f× | %.2f× | %s |\n", c.Target.Line,
				formatMetric(c.Target.Metric, c.Measured), FormatNs(c.Floor), c.Ratio, c.Target.Limit, status)
		}
	}
}

func cell(r *Result, unit string) string {
	v, ok := r.Metrics[unit]
	if !ok {
		return ""
	}
	return formatMetric(unit, v)
}
