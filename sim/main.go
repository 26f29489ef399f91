package sim

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Main is the command line of the scale simulation, for `chorus bench scale` and
// cmd/chorus-scale: it parses args, runs RunScale, prints the tables to stdout and
// progress and failures to stderr, and returns the exit code (0 ok, 1 failure or a
// failed check, 2 usage).
//
//	-n 10,100,400   member counts N     -large       also N=1000
//	-d 1,3          installations per member
//	-schedules 1,2  key schedules each shape runs under (v1, v2)
//	-messages 5 -speakers 4 -serial 8 -max-live 1300 -disk 3 -text 100 -timeout 10m
//	-json FILE      also write the report as JSON      -q  no progress
//	-memprofile P   write each run's heap profile to P.nN.dD.vS.heap
//	-cpuprofile P   CPU profiles of the admin's group messages: P.nN.dD.vS.msg.{tx,rx}.K.cpu
//	-from A.json,B.json   print saved reports together instead of running
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg ScaleConfig
	sizes := fs.String("n", "10,100,400", "member counts N, comma-separated")
	large := fs.Bool("large", false, "also run N=1000")
	devices := fs.String("d", "1,3", "installations per member D, comma-separated")
	schedules := fs.String("schedules", "1,2", "key schedules each shape runs under (1: v1 senderkeys, 2: v2 epochs), comma-separated")
	fs.IntVar(&cfg.Messages, "messages", 5, "ordinary messages sent by the admin")
	fs.IntVar(&cfg.Speakers, "speakers", 4, "remaining senders (admin included) that speak after a removal")
	fs.IntVar(&cfg.SerialSample, "serial", 8, "receivers measured one at a time per message")
	fs.IntVar(&cfg.MaxLive, "max-live", 1300, "most installations running a client; above, a sample runs")
	fs.IntVar(&cfg.DiskSample, "disk", 3, "installations with file-backed stores whose size is reported (-1: none)")
	fs.IntVar(&cfg.Text, "text", 100, "message text size in bytes")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "bound on every wait for installations to process a step (default 10m)")
	fs.BoolVar(&cfg.FileStores, "files", false, "every installation's store is a file (RSS without :memory: databases)")
	fs.StringVar(&cfg.Dir, "dir", "", "directory for the file-backed stores (default: a temporary one)")
	fs.StringVar(&cfg.HeapProfile, "memprofile", "", "`PREFIX`: write each run's heap profile (at the memory measurement) to PREFIX.nN.dD.vS.heap")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "`PREFIX`: CPU profiles of the admin's group messages, sender and receivers measured alone, to PREFIX.nN.dD.vS.msg.{tx,rx}.K.cpu")
	fs.StringVar(&cfg.Windows, "windows", "", "`PREFIX`: write the intervals the admin's group messages are measured in (CLOCK_MONOTONIC ns, for perf record -k CLOCK_MONOTONIC) to PREFIX.nN.dD.vS.msg.windows")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	from := fs.String("from", "", "print the tables of saved -json reports (comma-separated, runs concatenated) instead of running")
	quiet := fs.Bool("q", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench scale: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var err error
	if cfg.Sizes, err = ints(*sizes); err != nil {
		fmt.Fprintln(stderr, "bench scale: -n:", err)
		return 2
	}
	if *large {
		cfg.Sizes = append(cfg.Sizes, 1000)
	}
	if cfg.Devices, err = ints(*devices); err != nil {
		fmt.Fprintln(stderr, "bench scale: -d:", err)
		return 2
	}
	if cfg.Schedules, err = ints(*schedules); err != nil || slices.ContainsFunc(cfg.Schedules, func(s int) bool { return s != 1 && s != 2 }) {
		fmt.Fprintln(stderr, "bench scale: -schedules: 1 and/or 2")
		return 2
	}
	if !*quiet {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if *from != "" {
		rep, err := loadReports(strings.Split(*from, ","))
		if err == nil {
			err = rep.Print(stdout)
		}
		if err != nil {
			fmt.Fprintln(stderr, "bench scale:", err)
			return 1
		}
		return 0
	}
	rep, err := RunScale(ctx, cfg, stdout)
	if *jsonOut != "" && rep != nil {
		b, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, b, 0o644)
		}
		if jerr != nil {
			fmt.Fprintln(stderr, "bench scale: json:", jerr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench scale:", err)
		return 1
	}
	if failed := rep.Failed(); len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintln(stderr, "bench scale: FAILED:", f)
		}
		return 1
	}
	return 0
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// loadReports reads saved reports and concatenates their runs (the machine line and
// the senderkeys floor are the first report's).
func loadReports(files []string) (*Report, error) {
	var out *Report
	for _, f := range files {
		b, err := os.ReadFile(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		r := new(Report)
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if out == nil {
			out = r
			continue
		}
		out.Runs = append(out.Runs, r.Runs...)
		out.LoadEnd = r.LoadEnd
	}
	if out == nil {
		return nil, errors.New("no report")
	}
	return out, nil
}
