//go:build linux

package sim

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuMethod names how CPU time is read on this platform (printed with the tables).
const cpuMethod = "clock_gettime(CLOCK_THREAD_CPUTIME_ID) on a locked OS thread for senders; CLOCK_PROCESS_CPUTIME_ID over a receive window for receivers"

func clockNanos(id int32) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}

// threadCPU returns the CPU time consumed by the calling OS thread (cgo calls included:
// they run on the calling thread). Meaningful only on a goroutine locked to its thread.
func threadCPU() int64 { return clockNanos(unix.CLOCK_THREAD_CPUTIME_ID) }

// processCPU returns the CPU time consumed by the whole process (all threads).
func processCPU() int64 { return clockNanos(unix.CLOCK_PROCESS_CPUTIME_ID) }

// residentBytes returns the process's resident set size (0 if unknown). It covers the
// C heap too (sqlite pages of :memory: stores, libsecp256k1), which the Go heap does not.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// loadAverage returns the 1-minute load average ("" if unknown).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// physicalMemory returns the machine's memory in bytes (0 if unknown).
func physicalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// windowStamp returns CLOCK_MONOTONIC, the process's user and its system CPU (ns).
func windowStamp() [3]int64 {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return [3]int64{clockNanos(unix.CLOCK_MONOTONIC), ru.Utime.Nano(), ru.Stime.Nano()}
}

// usage returns the calling thread's (thread) or the process's CPU clock, user and system
// time (ns), minor and major page faults, voluntary and involuntary context switches.
func usage(thread bool) (cpu, user, sys, minflt, majflt, nvcsw, nivcsw int64) {
	who, id := unix.RUSAGE_SELF, int32(unix.CLOCK_PROCESS_CPUTIME_ID)
	if thread {
		who, id = unix.RUSAGE_THREAD, unix.CLOCK_THREAD_CPUTIME_ID
	}
	var ru unix.Rusage
	_ = unix.Getrusage(who, &ru)
	return clockNanos(id), ru.Utime.Nano(), ru.Stime.Nano(), ru.Minflt, ru.Majflt, ru.Nvcsw, ru.Nivcsw
}
