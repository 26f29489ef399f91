package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
)

// keyKind says what a tracker key stands for.
type keyKind uint8

const (
	kindMessage    keyKind = iota + 1 // a group message id was received (MessageReceived)
	kindJoined                        // a group was joined (GroupJoined)
	kindAdded                         // a member was seen added (MembershipChanged)
	kindRemoved                       // a member was seen removed (MembershipChanged)
	kindSubscribed                    // the transport was asked to subscribe to a topic
	kindLinked                        // this installation was linked to its account (AccountLinked)
	kindDevices                       // a devices message (new device list) of account s in group id
	kindCalibrate                     // observed by calibrationInst only (emptyWindow)
)

// calibrationInst is the pseudo-installation of emptyWindow's observation.
const calibrationInst = -1

// key is something an installation can observe.
type key struct {
	kind keyKind
	id   [32]byte
	s    string
}

func (k key) String() string {
	switch k.kind {
	case kindMessage:
		return fmt.Sprintf("message %x", k.id[:6])
	case kindJoined:
		return fmt.Sprintf("joined %x", k.id[:6])
	case kindAdded:
		return "added " + chorustest.Short(k.s)
	case kindRemoved:
		return "removed " + chorustest.Short(k.s)
	case kindLinked:
		return "linked"
	case kindDevices:
		return "device list of " + chorustest.Short(k.s)
	case kindCalibrate:
		return "calibration"
	}
	return "subscribed " + chorustest.Short(k.s)
}

// waiter is released when every installation in pending has observed k.
type waiter struct {
	k       key
	pending map[int]bool
	ch      chan struct{}
}

// tracker records, per installation, when it observed each key, and releases waiters.
type tracker struct {
	mu      sync.Mutex
	seen    map[key]map[int]time.Time
	waiters []*waiter

	// A wait gives up after stall without progress, looked at every tick: progress is an
	// installation observing the key, or the process working (at least busyShare of a core
	// over the tick, on the CPU clock cpu). Clients working through a step together finish
	// it together: a creation's catch-up at 400 × 1 had 182 clients verifying the cards of
	// the members in parallel, 41 of 391 done after a minute of a loaded machine.
	stall, tick time.Duration
	cpu         func() int64
}

// busyShare is the share of one core above which the process is working on a step.
const busyShare = 0.2

func newTracker() *tracker {
	return &tracker{seen: map[key]map[int]time.Time{}, stall: stall, tick: time.Second, cpu: processCPU}
}

func (tr *tracker) hit(inst int, k key) {
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	m := tr.seen[k]
	if m == nil {
		m = map[int]time.Time{}
		tr.seen[k] = m
	}
	if _, ok := m[inst]; ok {
		return
	}
	m[inst] = now
	for i := 0; i < len(tr.waiters); i++ {
		w := tr.waiters[i]
		if w.k != k || !w.pending[inst] {
			continue
		}
		delete(w.pending, inst)
		if len(w.pending) == 0 {
			close(w.ch)
			tr.waiters = append(tr.waiters[:i], tr.waiters[i+1:]...)
			i--
		}
	}
}

// has reports whether inst observed k.
func (tr *tracker) has(inst int, k key) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	_, ok := tr.seen[k][inst]
	return ok
}

// at returns when inst observed k.
func (tr *tracker) at(inst int, k key) (time.Time, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t, ok := tr.seen[k][inst]
	return t, ok
}

// count returns how many of insts observed k.
func (tr *tracker) count(k key, insts []int) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, i := range insts {
		if _, ok := tr.seen[k][i]; ok {
			n++
		}
	}
	return n
}

// missing returns the installations of insts that did not observe k.
func (tr *tracker) missing(k key, insts []int) []int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []int
	for _, i := range insts {
		if _, ok := tr.seen[k][i]; !ok {
			out = append(out, i)
		}
	}
	return out
}

// watch returns a channel closed once every installation in insts observed k.
func (tr *tracker) watch(k key, insts []int) <-chan struct{} {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	w := &waiter{k: k, pending: map[int]bool{}, ch: make(chan struct{})}
	for _, i := range insts {
		if _, ok := tr.seen[k][i]; !ok {
			w.pending[i] = true
		}
	}
	if len(w.pending) == 0 {
		close(w.ch)
		return w.ch
	}
	tr.waiters = append(tr.waiters, w)
	return w.ch
}

// stall is how long a wait tolerates no progress at all before it gives up.
const stall = 2 * time.Minute

// wait blocks until every installation in insts observed k, ctx ends, timeout passes,
// or nothing progresses (no installation observes k, the process does not work) for
// tr.stall.
func (tr *tracker) wait(ctx context.Context, k key, insts []int, timeout time.Duration) error {
	ch := tr.watch(k, insts)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(tr.tick)
	defer tick.Stop()
	last, lastChange := -1, time.Now()
	cpu0, at0 := tr.cpu(), time.Now()
	for {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			tr.drop(ch)
			return ctx.Err()
		case <-deadline.C:
			tr.drop(ch)
			missing := tr.missing(k, insts)
			return &stallError{k: k, missing: missing,
				msg: fmt.Sprintf("sim: %s: %d of %d installations still waiting after %v", k, len(missing), len(insts), timeout)}
		case <-tick.C:
			cpu1, at1 := tr.cpu(), time.Now()
			busy := float64(cpu1-cpu0) > busyShare*float64(at1.Sub(at0))
			cpu0, at0 = cpu1, at1
			if n := tr.count(k, insts); n != last || busy {
				last, lastChange = n, time.Now()
			} else if time.Since(lastChange) > tr.stall {
				tr.drop(ch)
				missing := tr.missing(k, insts)
				return &stallError{k: k, missing: missing,
					msg: fmt.Sprintf("sim: %s: %d of %d installations still waiting, no progress for %v (the process idle)", k, len(missing), len(insts), tr.stall)}
			}
		}
	}
}

// drop forgets the waiter behind ch.
func (tr *tracker) drop(ch <-chan struct{}) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, w := range tr.waiters {
		if w.ch == ch {
			tr.waiters = append(tr.waiters[:i], tr.waiters[i+1:]...)
			return
		}
	}
}
