package sim

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
)

// profileName is PREFIX.nN.dD.vS.SUFFIX.
func profileName(prefix string, run *Run, suffix string) string {
	return fmt.Sprintf("%s.n%d.d%d.v%d.%s", prefix, run.N, run.D, run.Schedule, suffix)
}

// writeHeapProfile writes the heap profile (live objects as of the last collection).
func writeHeapProfile(name string) error {
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		return err
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}

// cpuProfiler writes CPU profiles of the admin's ordinary group messages: one file per
// message for the sender's call (PREFIX.tx.K.cpu) and one for its receivers measured
// alone (PREFIX.rx.K.cpu, every serial window of that message, with the harness's waits
// between them, which are idle). go tool pprof merges the files it is given.
type cpuProfiler struct {
	prefix string // PREFIX.nN.dD.vS
	on     bool   // set by the step that is profiled
	pprof  bool   // write pprof files (else only the windows)
	seq    int
	f      *os.File
	// windows lists each profiled interval as "what K start end user sys" (what: tx the
	// sender's call, rx a receiver alone, empty a window without a receiver, whose CPU is
	// taken off each rx window; CLOCK_MONOTONIC ns; user and sys: the process's CPU in it,
	// from getrusage), for tools whose samples
	// carry that clock (perf record -k CLOCK_MONOTONIC): pprof's per-thread timers fire at
	// the kernel tick, too coarse for windows of a few hundred µs.
	windows []string
	w0      [3]int64
}

// cpuProfileHz is the sampling rate: a window is a few hundred µs of CPU, too few
// samples at the default 100 Hz.
const cpuProfileHz = 4000

// start begins a profile named what, if profiling is on.
func (p *cpuProfiler) start(what string) error {
	if p == nil || !p.on {
		return nil
	}
	if !p.pprof {
		p.w0 = windowStamp()
		return nil
	}
	f, err := os.Create(fmt.Sprintf("%s.%s.%d.cpu", p.prefix, what, p.seq))
	if err != nil {
		return err
	}
	runtime.SetCPUProfileRate(cpuProfileHz)
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	p.f = f
	p.w0 = windowStamp()
	return nil
}

// window records one interval [start of the last mark, now) named what.
func (p *cpuProfiler) mark() {
	if p != nil && p.on {
		p.w0 = windowStamp()
	}
}

func (p *cpuProfiler) window(what string) {
	if p == nil || !p.on {
		return
	}
	w1 := windowStamp()
	p.windows = append(p.windows, fmt.Sprintf("%s %d %d %d %d %d", what, p.seq, p.w0[0], w1[0], w1[1]-p.w0[1], w1[2]-p.w0[2]))
}

// writeWindows writes the intervals to PREFIX.windows.
func (p *cpuProfiler) writeWindows() error {
	if p == nil || len(p.windows) == 0 {
		return nil
	}
	return os.WriteFile(p.prefix+".windows", []byte(strings.Join(p.windows, "\n")+"\n"), 0o644)
}

// stop ends the profile begun by start, if any.
func (p *cpuProfiler) stop() error {
	if p == nil || p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	runtime.SetCPUProfileRate(0)
	err := p.f.Close()
	p.f = nil
	return err
}

// next moves to the next message's files.
func (p *cpuProfiler) next() {
	if p != nil {
		p.seq++
	}
}

// simulationHeap estimates, from the heap profile (live objects as of the last
// collection, scaled for sampling as pprof scales them), the bytes of live heap that the
// simulation holds rather than the installations: objects whose innermost allocating
// frame of this module is in package sim (its bookkeeping) or under transport/ (the
// in-memory network standing in for Waku: its subscriptions and duplicate filters).
// Its precision follows runtime.MemProfileRate (fine with -memprofile, which sets it to
// 4 KiB; the default 512 KiB gives a rough figure).
func simulationHeap() int64 {
	n, _ := runtime.MemProfile(nil, false)
	var recs []runtime.MemProfileRecord
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	var total float64
	for i := range recs {
		r := &recs[i]
		objs, bytes := r.InUseObjects(), r.InUseBytes()
		if objs <= 0 || bytes <= 0 || !simulationStack(r.Stack()) {
			continue
		}
		scale := 1.0
		if rate > 1 {
			scale = 1 / (1 - math.Exp(-float64(bytes)/float64(objs)/rate))
		}
		total += float64(bytes) * scale
	}
	return int64(total)
}

// simulationStack reports whether the innermost frame of this module in stk is in
// package sim or under transport/.
func simulationStack(stk []uintptr) bool {
	frames := runtime.CallersFrames(stk)
	for {
		f, more := frames.Next()
		if rest, ok := strings.CutPrefix(f.Function, modulePath+"/"); ok {
			return strings.HasPrefix(rest, "sim.") || strings.HasPrefix(rest, "transport/") || strings.HasPrefix(rest, "transport.")
		}
		if !more {
			return false
		}
	}
}

const modulePath = "github.com/chorus-im/chorus"
