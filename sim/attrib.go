package sim

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"time"
)

// Attribution (issue 16, reporting only): what else happened in a measured interval
// beside its CPU, so that a window's figure can be split into the engine's work, the
// collector's, the kernel's and the scheduler's. Nothing here changes what is measured.

// Attr is one interval's counters (or their mean over intervals).
type Attr struct {
	// N is how many intervals a mean covers.
	N int
	// CPU is the interval's CPU (a sender's thread; a receive window's process), User and
	// Sys its split (getrusage of the same thread or process).
	CPU, User, Sys time.Duration
	// GCCPU and ScavengeCPU are the runtime's estimates (runtime/metrics
	// /cpu/classes/gc/total and /cpu/classes/scavenge/total) of the collector's and the
	// scavenger's CPU in the interval; GCCycles the collections that ended in it.
	GCCPU, ScavengeCPU time.Duration
	GCCycles           float64
	// Publish is the transport's CPU inside the sender's publishes (its fan-out to every
	// subscriber; on the sender's thread, not in CPU).
	Publish time.Duration
	// PubMinFlt and PubInvolCS are the sender thread's minor faults and involuntary
	// context switches inside those publishes (part of MinFlt and InvolCS).
	PubMinFlt, PubInvolCS float64
	// Cgo is the process's cgo calls (sqlite, secp256k1) in the interval.
	Cgo float64
	// MinFlt, MajFlt: page faults; VolCS, InvolCS: context switches (voluntary: the thread
	// blocked, e.g. parked in futex; involuntary: preempted by the kernel), of the same
	// thread or process as CPU.
	MinFlt, MajFlt, VolCS, InvolCS float64
	// HeapLive is the live heap at the last collection, at the interval's end (bytes).
	HeapLive float64
}

// attrMetrics are the runtime/metrics an Attr reads, in attrStamp.m's order.
var attrMetrics = []string{
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/scavenge/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/live:bytes",
}

// attrStamp is the counters at one instant.
type attrStamp struct {
	cpu, user, sys                int64
	minflt, majflt, nvcsw, nivcsw int64
	gcCPU, scavCPU                float64
	cycles, live                  uint64
	cgo                           int64
}

// attrSampler reads the counters without allocating per read (its samples are reused).
type attrSampler struct {
	s []metrics.Sample
}

func newAttrSampler() *attrSampler {
	a := &attrSampler{s: make([]metrics.Sample, len(attrMetrics))}
	for i, m := range attrMetrics {
		a.s[i].Name = m
	}
	return a
}

// stamp reads the counters: of the calling thread (thread: the caller is locked to its
// OS thread) or of the process; the runtime's are always the process's.
func (a *attrSampler) stamp(thread bool) attrStamp {
	var st attrStamp
	st.cpu, st.user, st.sys, st.minflt, st.majflt, st.nvcsw, st.nivcsw = usage(thread)
	if a == nil {
		return st
	}
	metrics.Read(a.s)
	f := func(i int) float64 {
		if a.s[i].Value.Kind() == metrics.KindFloat64 {
			return a.s[i].Value.Float64()
		}
		return 0
	}
	u := func(i int) uint64 {
		if a.s[i].Value.Kind() == metrics.KindUint64 {
			return a.s[i].Value.Uint64()
		}
		return 0
	}
	st.gcCPU, st.scavCPU = f(0), f(1)
	st.cycles, st.live = u(2), u(3)
	st.cgo = runtime.NumCgoCall()
	return st
}

// attrBetween is the interval from a to b, its CPU taken as cpu (the caller's figure:
// a receive window's is net of the harness's share).
func attrBetween(a, b attrStamp, cpu time.Duration) Attr {
	return Attr{N: 1, CPU: cpu, User: time.Duration(b.user - a.user), Sys: time.Duration(b.sys - a.sys),
		GCCPU:       time.Duration((b.gcCPU - a.gcCPU) * 1e9),
		ScavengeCPU: time.Duration((b.scavCPU - a.scavCPU) * 1e9),
		GCCycles:    float64(b.cycles - a.cycles),
		Cgo:         float64(b.cgo - a.cgo),
		MinFlt:      float64(b.minflt - a.minflt), MajFlt: float64(b.majflt - a.majflt),
		VolCS: float64(b.nvcsw - a.nvcsw), InvolCS: float64(b.nivcsw - a.nivcsw),
		HeapLive: float64(b.live)}
}

// attrMean summarises xs (zero Attr if none): the median of each figure, except the
// collections and their CPU (rare: a median would hide them), which are means.
func attrMean(xs []Attr) Attr {
	var m Attr
	if len(xs) == 0 {
		return m
	}
	med := func(f func(Attr) float64) float64 {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	dmed := func(f func(Attr) time.Duration) time.Duration {
		return time.Duration(med(func(a Attr) float64 { return float64(f(a)) }))
	}
	m.N = len(xs)
	m.CPU = dmed(func(a Attr) time.Duration { return a.CPU })
	m.User = dmed(func(a Attr) time.Duration { return a.User })
	m.Sys = dmed(func(a Attr) time.Duration { return a.Sys })
	m.Publish = dmed(func(a Attr) time.Duration { return a.Publish })
	m.ScavengeCPU = dmed(func(a Attr) time.Duration { return a.ScavengeCPU })
	m.Cgo = med(func(a Attr) float64 { return a.Cgo })
	m.MinFlt = med(func(a Attr) float64 { return a.MinFlt })
	m.PubMinFlt = med(func(a Attr) float64 { return a.PubMinFlt })
	m.PubInvolCS = med(func(a Attr) float64 { return a.PubInvolCS })
	m.MajFlt = med(func(a Attr) float64 { return a.MajFlt })
	m.VolCS = med(func(a Attr) float64 { return a.VolCS })
	m.InvolCS = med(func(a Attr) float64 { return a.InvolCS })
	m.HeapLive = med(func(a Attr) float64 { return a.HeapLive })
	for _, x := range xs {
		m.GCCPU += x.GCCPU
		m.GCCycles += x.GCCycles
	}
	m.GCCPU /= time.Duration(len(xs))
	m.GCCycles /= float64(len(xs))
	return m
}

// attribution prints where the admin's group messages' measured intervals go: the
// counters of attrib.go, means per interval.
func (p *printer) attribution(r *Report) {
	var rows [][]string
	row := func(run *Run, what string, a Attr) {
		if a.N == 0 {
			return
		}
		rows = append(rows, []string{runN(run), itoa(run.D), what, itoa(a.N), dur(a.CPU), dur(a.Publish), dur(a.User), dur(a.Sys),
			fmt.Sprintf("%.1f", a.Cgo),
			fmt.Sprintf("%.1f (%.1f)", a.MinFlt, a.PubMinFlt), fmt.Sprintf("%.1f / %.1f (%.1f)", a.VolCS, a.InvolCS, a.PubInvolCS),
			fmt.Sprintf("%.3f", a.GCCycles), dur(a.GCCPU), fmtBytes(a.HeapLive)})
	}
	for _, run := range r.Runs {
		s := &run.Message
		if s.Ops == 0 {
			continue
		}
		row(run, "sender (its thread)", s.TxAttr)
		row(run, "receiver alone (process, net of the empty window)", s.RxAttr)
		row(run, "empty window (process, whole)", s.EmptyAttr)
	}
	if len(rows) == 0 {
		return
	}
	p.f("Where a group message's measured intervals go (medians per interval; collections and GC CPU: means; issue 16). CPU: the sender's " +
		"thread, or the receive window's process CPU less the empty window's; user and sys: getrusage of the same " +
		"thread or the whole process (the receiver's include the harness's, as the empty window's row shows); " +
		"the transport's publish (its fan-out to every subscriber, on the sender's thread: in user and sys, not in CPU); " +
		"cgo calls and the collector's figures are the process's; faults and context switches (voluntary / " +
		"involuntary) of the same thread or process, in brackets the sender's inside its publishes; collections ended inside the interval and the runtime's " +
		"estimate of their CPU; live heap at the last collection.\n\n")
	p.table([]string{"N", "D", "interval", "intervals", "CPU", "publish", "user", "sys", "cgo calls", "minor faults", "context switches", "collections", "GC CPU", "live heap"}, rows)
}
