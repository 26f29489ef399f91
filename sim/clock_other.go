//go:build !linux

package sim

import "time"

// cpuMethod names how CPU time is read on this platform (printed with the tables).
const cpuMethod = "wall clock (no per-thread CPU clock on this platform): figures include waiting"

var epoch = time.Now()

func threadCPU() int64     { return int64(time.Since(epoch)) }
func processCPU() int64    { return int64(time.Since(epoch)) }
func residentBytes() int64 { return 0 }

func loadAverage() string { return "" }

func physicalMemory() int64 { return 0 }

// windowStamp returns the wall clock (no CPU split on this platform).
func windowStamp() [3]int64 { return [3]int64{time.Now().UnixNano(), 0, 0} }

// usage returns the wall clock as CPU (no split, no counters on this platform).
func usage(bool) (cpu, user, sys, minflt, majflt, nvcsw, nivcsw int64) {
	return int64(time.Since(epoch)), 0, 0, 0, 0, 0, 0
}
