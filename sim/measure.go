package sim

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
)

// expect says that the installations insts must observe k.
type expect struct {
	k     key
	insts []int
}

// opResult is one measured operation.
type opResult struct {
	senderCPU, senderWall time.Duration
	pubs, bytes           int64 // network-wide
	pubErrs               int64
	oversize              int64      // publishes above transport.MaxPayload (carried out of band)
	rx                    []rxResult // one per expect
	wall                  time.Duration
	txAttr                Attr // the sender's thread during act (attrib.go)
}

// rxResult is what the receivers of one expect cost.
type rxResult struct {
	n        int
	bytes    float64         // mean bytes that reached each receiver
	serial   []time.Duration // CPU of receivers measured alone
	parallel time.Duration   // CPU per receiver of those measured together (0: none)
	attrs    []Attr          // one per serial window (attrib.go)
	empty    Attr            // the empty windows' mean (the harness's share)
}

// settle is how long a receive window stays open after the last expected event, so
// that the work a client does after emitting it (commit tail, pending retries) is
// counted in the window.
const settle = 3 * time.Millisecond

// measure runs act as installation sender on a goroutine locked to its OS thread while
// every gate is closed (so no receiver runs), then lets the receivers of each expect act
// returns process it: up to serialN of them one at a time (each alone in its own window
// of process CPU), then all the others together. Gates are closed again at the end.
func (cl *cluster) measure(ctx context.Context, sender int, serialN int, timeout time.Duration,
	act func() ([]expect, error)) (*opResult, error) {
	cl.setGates(false, nil)
	cl.measures++
	cl.rx.Store(newRxLog()) // receipts, for a stall's diagnosis; dropped when measure returns
	defer cl.rx.Store(nil)
	s := cl.insts[sender]
	res := &opResult{}
	net0 := cl.stats()
	big0 := cl.big.count.Load()
	rx0 := map[int]counters{}
	for _, in := range cl.insts {
		if in.live {
			rx0[in.idx] = in.tr.snapshot()
		}
	}
	type actOut struct {
		exps []expect
		err  error
	}
	var pubs []published // the sender's publishes (diagnose.go), read once act returned
	ch := make(chan actOut, 1)
	if err := cl.prof.start("tx"); err != nil {
		return nil, err
	}
	start := time.Now()
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		p0, pf0, pi0 := s.tr.pubCPU.Load(), s.tr.pubFlt.Load(), s.tr.pubInvol.Load()
		a0 := cl.attr.stamp(true)
		cl.acting.Store(true)
		s.tr.startCapture()
		c0, w0 := threadCPU(), time.Now()
		exps, err := act()
		c1, w1 := threadCPU(), time.Now()
		pubs = s.tr.stopCapture()
		cl.acting.Store(false)
		a1 := cl.attr.stamp(true)
		pub := s.tr.pubCPU.Load() - p0
		res.senderCPU = time.Duration(c1 - c0 - pub)
		res.senderWall = w1.Sub(w0)
		res.txAttr = attrBetween(a0, a1, res.senderCPU)
		res.txAttr.Publish = time.Duration(pub)
		res.txAttr.PubMinFlt, res.txAttr.PubInvolCS = float64(s.tr.pubFlt.Load()-pf0), float64(s.tr.pubInvol.Load()-pi0)
		ch <- actOut{exps, err}
	}()
	var out actOut
	select {
	case out = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cl.prof.window("tx")
	if err := cl.prof.stop(); err != nil {
		return nil, err
	}
	if out.err != nil {
		return nil, out.err
	}
	net1 := cl.stats()
	res.pubs, res.bytes = net1.Publishes-net0.Publishes, net1.Bytes-net0.Bytes
	res.oversize = cl.big.count.Load() - big0
	res.pubErrs = s.tr.snapshot().pubErrs - rx0[sender].pubErrs

	// Serial windows.
	var parallel []expect
	for _, e := range out.exps {
		r := rxResult{n: len(e.insts)}
		serial := pickSerial(cl, e.insts, serialN)
		// One P while a receiver is measured alone: with idle Ps the Go scheduler spins
		// threads looking for work at every goroutine hand-off, CPU that a busy process
		// never spends.
		// And no garbage collection in flight: the simulation's heap holds every client,
		// so a cycle started by earlier steps would be charged to whoever is measured. A
		// receiver's own allocations (tens of KiB) do not start one; the all-at-once
		// figure below includes the collector's share.
		// And nothing left over from earlier steps: clients finish work after the event
		// that released the previous wait (pending retries, commit tails), hundreds of
		// them at once in large groups.
		// And no memory left for the background scavenger to return to the OS: after a
		// collection it gives the freed pages back a few at a time (madvise), during
		// the windows that follow (50-70 µs per window at N=100 under perf, none of it
		// the receiver's); FreeOSMemory collects and returns them at once. It runs only
		// when a collection is due (collectIfDue), not before every operation.
		if len(serial) > 0 {
			cl.collectIfDue()
			if err := cl.quiesce(ctx, false); err != nil {
				return nil, err
			}
		}
		prev := runtime.GOMAXPROCS(1)
		// The harness's own share of a window (its wait, the settle sleep, the runtime's
		// housekeeping meanwhile), measured the same way in windows where nobody
		// receives anything, is not the receiver's.
		var empty time.Duration
		if len(serial) > 0 {
			var err error
			if empty, r.empty, err = cl.emptyWindow(ctx); err != nil {
				runtime.GOMAXPROCS(prev)
				return nil, err
			}
		}
		if err := cl.prof.start("rx"); err != nil {
			runtime.GOMAXPROCS(prev)
			return nil, err
		}
		for _, i := range serial {
			cl.prof.mark()
			a0 := cl.attr.stamp(false)
			c0, w0 := processCPU(), time.Now()
			cl.setGates(true, []int{i})
			if err := cl.tr.wait(ctx, e.k, []int{i}, timeout); err != nil {
				runtime.GOMAXPROCS(prev)
				return nil, fmt.Errorf("%s: %w", cl.insts[i].name, cl.stalled(ctx, err, sender, pubs))
			}
			time.Sleep(settle)
			cpu := float64(processCPU()-c0) - max(float64(empty), cl.idle*float64(time.Since(w0)))
			r.serial = append(r.serial, time.Duration(max(cpu, 0)))
			r.attrs = append(r.attrs, attrBetween(a0, cl.attr.stamp(false), time.Duration(max(cpu, 0))))
			cl.prof.window("rx")
			cl.setGates(false, []int{i})
		}
		if err := cl.prof.stop(); err != nil {
			runtime.GOMAXPROCS(prev)
			return nil, err
		}
		cl.prof.next()
		runtime.GOMAXPROCS(prev)
		rest := slices.DeleteFunc(slices.Clone(e.insts), func(i int) bool { return slices.Contains(serial, i) })
		parallel = append(parallel, expect{k: e.k, insts: rest})
		res.rx = append(res.rx, r)
	}
	// Everyone else at once (every gate opens: the sender's own copy is processed too).
	c0 := processCPU()
	cl.setGates(true, nil)
	for _, e := range parallel {
		if err := cl.tr.wait(ctx, e.k, e.insts, timeout); err != nil {
			return nil, cl.stalled(ctx, err, sender, pubs)
		}
	}
	// Stragglers: work the clients do after their event, and envelopes that are not
	// for them (other inboxes of their partition), counted in this window.
	if err := cl.quiesce(ctx, true); err != nil {
		return nil, err
	}
	cpu := time.Duration(processCPU() - c0)
	cl.setGates(false, nil)
	total := 0
	for _, e := range parallel {
		total += len(e.insts)
	}
	for j, e := range parallel {
		if len(e.insts) > 0 && total > 0 {
			// One shared window: the CPU is split by receiver count (one expect has
			// a parallel part in every scenario of this package).
			res.rx[j].parallel = cpu / time.Duration(total)
		}
	}
	// Bytes that reached each receiver, and the wall time until the last one had it.
	var last time.Time
	for j, e := range out.exps {
		var sum int64
		for _, i := range e.insts {
			sum += cl.insts[i].tr.snapshot().rxBytes - rx0[i].rxBytes
			if t, ok := cl.tr.at(i, e.k); ok && t.After(last) {
				last = t
			}
		}
		if len(e.insts) > 0 {
			res.rx[j].bytes = float64(sum) / float64(len(e.insts))
		}
	}
	if !last.IsZero() {
		res.wall = last.Sub(start)
	}
	return res, nil
}

// collectIfDue collects, and returns the freed pages to the OS, before the serial windows
// if the runtime would start a collection soon (less than collectMargin of heap growth
// left before its goal), so that none starts inside a window, or if it collected since
// the last call, so that the background scavenger has nothing left to return during
// the windows (the stacks are already halved then). Otherwise it does nothing: a collection
// before every measured operation would charge each receiver the aftermath of one
// collection per message (every idle goroutine's stack halved and regrown by copying,
// the allocation cache emptied, free pages faulted back in: 40 µs of 260-280 at 100 × 1,
// the first window after it 100-150 µs more), while a client collects once per few MiB
// it allocates (about 11 KiB per received message).
func (cl *cluster) collectIfDue() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.NumGC == cl.numGC && !collectionDue(ms.HeapAlloc, ms.NextGC) {
		return
	}
	cl.collections++
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms)
	cl.numGC = ms.NumGC
}

// collectionDue reports whether a heap of alloc bytes is within collectMargin of the
// runtime's next collection at goal bytes.
func collectionDue(alloc, goal uint64) bool {
	return goal <= alloc || goal-alloc < max(collectMargin, goal/8)
}

// collectMargin bounds what the serial windows of one operation allocate (tens of KiB
// per receiver, a few receivers), with room to spare.
const collectMargin = 1 << 20

// emptyWindows is how many windows without a receiver emptyWindow measures.
const emptyWindows = 5

// emptyWindow returns the median process CPU of serial receive windows in which nobody
// receives anything: the wait (on an observation already made) and the settle sleep, as
// in measure; and the mean of their counters (attrib.go).
func (cl *cluster) emptyWindow(ctx context.Context) (time.Duration, Attr, error) {
	k := key{kind: kindCalibrate}
	cl.tr.hit(calibrationInst, k)
	var w []time.Duration
	var as []Attr
	for range emptyWindows {
		cl.prof.mark()
		a0 := cl.attr.stamp(false)
		c0 := processCPU()
		cl.setGates(true, []int{})
		if err := cl.tr.wait(ctx, k, []int{calibrationInst}, time.Minute); err != nil {
			return 0, Attr{}, err
		}
		time.Sleep(settle)
		d := time.Duration(processCPU() - c0)
		w = append(w, d)
		as = append(as, attrBetween(a0, cl.attr.stamp(false), d))
		cl.prof.window("empty")
		cl.setGates(false, []int{})
	}
	return chorustest.Median(w), attrMean(as), nil
}

// pickSerial chooses up to n receivers spread evenly over insts, preferring
// memory-backed stores (the disk-backed sample would skew the comparison).
func pickSerial(cl *cluster, insts []int, n int) []int {
	var cand []int
	for _, i := range insts {
		if cl.insts[i].path == "" {
			cand = append(cand, i)
		}
	}
	if len(cand) <= n {
		return cand
	}
	out := make([]int, 0, n)
	for j := 0; j < n; j++ {
		out = append(out, cand[j*len(cand)/n])
	}
	return out
}

// add folds one operation into a step (expect j of the operation is the step's
// receivers).
func (s *Step) add(r *opResult, j int) {
	s.Ops++
	s.pubs = append(s.pubs, r.pubs)
	s.bytes = append(s.bytes, r.bytes)
	s.cpu = append(s.cpu, r.senderCPU)
	s.swall = append(s.swall, r.senderWall)
	s.walls = append(s.walls, r.wall)
	s.PublishErrors += r.pubErrs
	s.Oversize += r.oversize
	s.txAttrs = append(s.txAttrs, r.txAttr)
	if j < len(r.rx) {
		x := r.rx[j]
		s.rxAttrs = append(s.rxAttrs, x.attrs...)
		if x.empty.N > 0 {
			s.emptyAttrs = append(s.emptyAttrs, x.empty)
		}
		s.Receivers = x.n
		s.rx = append(s.rx, x.bytes)
		s.serial = append(s.serial, x.serial...)
		if x.parallel > 0 {
			s.parallel = append(s.parallel, x.parallel)
		}
	}
	s.finish()
}

// finish computes the summary fields from the samples.
func (s *Step) finish() {
	s.Publishes, s.Bytes = meanI(s.pubs), meanI(s.bytes)
	s.MaxPublishes = 0
	for _, p := range s.pubs {
		s.MaxPublishes = max(s.MaxPublishes, p)
	}
	s.SenderCPU, s.SenderWall = chorustest.Median(s.cpu), chorustest.Median(s.swall)
	s.RxBytes = meanF(s.rx)
	s.RxSerial = chorustest.Median(s.serial)
	s.RxSerialMax = 0
	for _, d := range s.serial {
		s.RxSerialMax = max(s.RxSerialMax, d)
	}
	s.RxParallel = chorustest.Median(s.parallel)
	s.TxAttr, s.RxAttr, s.EmptyAttr = attrMean(s.txAttrs), attrMean(s.rxAttrs), attrMean(s.emptyAttrs)
	s.Wall = chorustest.Median(s.walls)
}

func meanI(v []int64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s int64
	for _, x := range v {
		s += x
	}
	return float64(s) / float64(len(v))
}

func meanF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
