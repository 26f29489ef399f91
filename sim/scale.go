package sim

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"
)

// RunScale simulates groups of every configured size N with every configured D
// installations per member, all in this process over transport/memory, prints the
// tables to w (markdown) and returns the measurements. It fails only if the simulation
// cannot run; failed checks (e.g. a group message that took more than one publish) are
// in the report (Report.Failed) and printed.
func RunScale(ctx context.Context, cfg ScaleConfig, w io.Writer) (*Report, error) {
	cfg = cfg.withDefaults()
	rep := &Report{
		Machine: fmt.Sprintf("%d cores (GOMAXPROCS %d), %s, %s/%s", runtime.NumCPU(), runtime.GOMAXPROCS(0),
			runtime.Version(), runtime.GOOS, runtime.GOARCH),
		CPUMethod:     cpuMethod,
		PlaintextSize: groupPlaintextSize(cfg.Text),
		SerialSample:  cfg.SerialSample,
	}
	rep.LoadStart = loadAverage()
	if cfg.HeapProfile != "" {
		// A finer heap sample than the default 512 KiB: a client's state is a few hundred KiB.
		prev := runtime.MemProfileRate
		runtime.MemProfileRate = 4096
		defer func() { runtime.MemProfileRate = prev }()
	}
	// Large groups hold gigabytes of live state (every client, every queued Welcome):
	// a soft memory limit makes the collector work harder instead of doubling the heap.
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := physicalMemory(); total > 0 {
			prev := debug.SetMemoryLimit(total * 6 / 10)
			defer debug.SetMemoryLimit(prev)
		}
	}
	if !cfg.NoFloor {
		f, err := measureFloor(rep.PlaintextSize)
		if err != nil {
			return nil, err
		}
		rep.SealNs, rep.OpenNs, rep.StateOpenNs, rep.ColdOpenNs = f.seal, f.open, f.stateOpen, f.coldOpen
		cfg.openNs = f.open
		cfg.Logger.Info("senderkeys floor", "seal", time.Duration(f.seal), "open", time.Duration(f.open))
	}
	for _, n := range cfg.Sizes {
		for _, d := range cfg.Devices {
			for _, sched := range cfg.Schedules {
				if err := scaleOne(ctx, cfg, rep, n, d, sched); err != nil {
					return rep, err
				}
			}
		}
	}
	rep.LoadEnd = loadAverage()
	if w != nil {
		if err := rep.Print(w); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// scaleOne runs one shape under one key schedule and appends the run to rep; the v2 run
// also gets the package-level v2 figures.
func scaleOne(ctx context.Context, cfg ScaleConfig, rep *Report, n, d, sched int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t0 := time.Now()
	run, err := runOne(ctx, cfg, n, d, sched)
	if run == nil {
		return fmt.Errorf("sim: N=%d D=%d v%d: %w", n, d, sched, err)
	}
	if err != nil {
		run.Err = err.Error()
		run.Checks = append(run.Checks, Check{Name: "run completed", Detail: err.Error()})
		cfg.Logger.Error("run stopped", "N", n, "D", d, "schedule", sched, "err", err)
	}
	if sched == 2 {
		if v2, err := measureV2(n, d); err != nil {
			run.Checks = append(run.Checks, Check{Name: "key schedule v2 measured", Detail: err.Error()})
		} else {
			run.V2 = v2
			if err := run.V2.computeCreation(n, run.DeviceListSizes); err != nil {
				run.Checks = append(run.Checks, Check{Name: "key schedule v2 creation computed", Detail: err.Error()})
			} else if err := computePrivacy(cfg, run); err != nil {
				run.Checks = append(run.Checks, Check{Name: "privacy costs computed", Detail: err.Error()})
			}
		}
	}
	cfg.Logger.Info("run done", "N", n, "D", d, "schedule", sched, "took", time.Since(t0).Round(time.Millisecond))
	rep.Runs = append(rep.Runs, run)
	return nil
}
