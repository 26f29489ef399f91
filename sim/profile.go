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
