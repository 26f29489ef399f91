// Command benchtab runs the module's benchmarks and prints them as readable tables,
// with each package's declared targets checked against the primitive floor measured
// in the same run (see internal/benchtab). `make bench` runs it.
//
//	benchtab [-benchtime 1s] [-bench .] [-in saved.txt] [packages...]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/chorus-im/chorus/internal/benchtab"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchtab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	benchtime := fs.String("benchtime", "1s", "go test -benchtime")
	bench := fs.String("bench", ".", "go test -bench regexp")
	in := fs.String("in", "", "parse saved `go test -bench` output instead of running it")
	raw := fs.String("raw", "", "also save the raw go test output to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pkgs := fs.Args()
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	var output []byte
	if *in != "" {
		b, err := os.ReadFile(*in)
		if err != nil {
			fmt.Fprintln(stderr, "benchtab:", err)
			return 1
		}
		output = b
	} else {
		cmdArgs := append([]string{"test", "-run", "^$", "-bench", *bench, "-benchmem", "-benchtime", *benchtime}, pkgs...)
		fmt.Fprintf(stderr, "benchtab: go %s (this takes a few minutes)\n", strings.Join(cmdArgs, " "))
		cmd := exec.Command("go", cmdArgs...)
		var buf bytes.Buffer
		cmd.Stdout = io.MultiWriter(&buf, progress{stderr})
		cmd.Stderr = stderr
		err := cmd.Run()
		output = buf.Bytes()
		if err != nil {
			fmt.Fprintln(stderr, "benchtab: go test failed:", err)
			os.Stderr.Write(output)
			return 1
		}
	}
	if *raw != "" {
		if err := os.WriteFile(*raw, output, 0o644); err != nil {
			fmt.Fprintln(stderr, "benchtab:", err)
		}
	}
	parsed, err := benchtab.Parse(bytes.NewReader(output))
	if err != nil {
		fmt.Fprintln(stderr, "benchtab:", err)
		return 1
	}
	targets, err := loadTargets(pkgs)
	if err != nil {
		fmt.Fprintln(stderr, "benchtab:", err)
		return 1
	}
	fmt.Fprintf(stdout, "## Chorus benchmarks — %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(stdout, "Machine: %d cores (GOMAXPROCS %d), %s, %s/%s, cpu %q. Ratios compare each operation with the primitive floor measured in the same run.\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, parsed.CPU)
	benchtab.Write(stdout, parsed, targets)
	return 0
}

// progress echoes one dot per benchmark line so a long run shows it is alive.
type progress struct{ w io.Writer }

func (p progress) Write(b []byte) (int, error) {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "pkg: ") {
			fmt.Fprintf(p.w, "\n%s ", strings.TrimPrefix(line, "pkg: "))
		} else if strings.HasPrefix(line, "Benchmark") {
			fmt.Fprint(p.w, ".")
		}
	}
	return len(b), nil
}

// loadTargets maps import paths to the targets in their testdata/benchtargets.txt.
func loadTargets(pkgs []string) (map[string][]benchtab.Target, error) {
	out, err := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}"}, pkgs...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	targets := map[string][]benchtab.Target{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		f, err := os.Open(filepath.Join(dir, "testdata", "benchtargets.txt"))
		if err != nil {
			continue
		}
		t, err := benchtab.ParseTargets(f)
		f.Close()
		if err != nil {
			// A broken targets file must not hide every other table.
			fmt.Fprintf(os.Stderr, "benchtab: %s: %v (targets skipped)\n", path, err)
			continue
		}
		targets[path] = t
	}
	return targets, nil
}
