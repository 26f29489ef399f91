package chorustest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// Events records one client's engine events as they arrive (Collect on the channel of
// Client.Subscribe), indexed for the predicates a test waits for (Await).
//
// The exported fields are read only inside a Predicate (Await and Check hold the lock).
type Events struct {
	mu      sync.Mutex
	changed chan struct{}
	all     []protocol.Event

	Received map[protocol.MessageID][]time.Time // arrival times (duplicates show as more than one)
	Joined   map[protocol.GroupID]*protocol.GroupJoined
	Members  []*protocol.MembershipChanged
	Missing  []*protocol.MessageMissing
	Linked   *protocol.AccountLinked
	Devices  []*protocol.InstallationsChanged
	Dropped  int // events dropped for the subscriber (EventsDropped)
}

// NewEvents returns an empty recorder.
func NewEvents() *Events {
	return &Events{changed: make(chan struct{}), Received: map[protocol.MessageID][]time.Time{},
		Joined: map[protocol.GroupID]*protocol.GroupJoined{}}
}

// Collect records every event from events until the channel closes.
func (e *Events) Collect(events <-chan protocol.Event) {
	for ev := range events {
		now := time.Now()
		e.mu.Lock()
		e.all = append(e.all, ev)
		switch x := ev.(type) {
		case *protocol.MessageReceived:
			e.Received[x.Message.ID] = append(e.Received[x.Message.ID], now)
		case *protocol.GroupJoined:
			e.Joined[x.Group] = x
		case *protocol.MembershipChanged:
			e.Members = append(e.Members, x)
		case *protocol.MessageMissing:
			e.Missing = append(e.Missing, x)
		case *protocol.AccountLinked:
			e.Linked = x
		case *protocol.InstallationsChanged:
			e.Devices = append(e.Devices, x)
		case *protocol.EventsDropped:
			e.Dropped += x.Count
		}
		close(e.changed)
		e.changed = make(chan struct{})
		e.mu.Unlock()
	}
}

// A Predicate is a condition on the events recorded so far.
type Predicate func(e *Events) bool

// Await waits until cond holds (checked at once and after every event), the timeout
// passes or ctx ends, and reports whether it held.
func (e *Events) Await(ctx context.Context, timeout time.Duration, cond Predicate) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		e.mu.Lock()
		ok := cond(e)
		ch := e.changed
		e.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Check reports whether cond holds now.
func (e *Events) Check(cond Predicate) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return cond(e)
}

// Arrivals returns when message id arrived (more than once: duplicates).
func (e *Events) Arrivals(id protocol.MessageID) []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Time(nil), e.Received[id]...)
}

// All returns every event so far for which keep holds (nil: every event), in order.
func (e *Events) All(keep func(protocol.Event) bool) []protocol.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []protocol.Event
	for _, ev := range e.all {
		if keep == nil || keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// MissingReports returns the MessageMissing events so far.
func (e *Events) MissingReports() []*protocol.MessageMissing {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.Missing)
}

// Linked: the client, waiting after LinkCode, was linked to an account.
func Linked(e *Events) bool { return e.Linked != nil }

// Joined: the client joined group g.
func Joined(g protocol.GroupID) Predicate {
	return func(e *Events) bool { return e.Joined[g] != nil }
}

// Received: every message of ids arrived (at least once).
func Received(ids ...protocol.MessageID) Predicate {
	return func(e *Events) bool {
		for _, id := range ids {
			if len(e.Received[id]) == 0 {
				return false
			}
		}
		return true
	}
}

// SawAdded: the client was told that account was added to group g.
func SawAdded(g protocol.GroupID, account string) Predicate {
	return func(e *Events) bool {
		for _, m := range e.Members {
			if m.Group == g && slices.Contains(m.MembersAdded, account) {
				return true
			}
		}
		return false
	}
}

// SawRemoved: the client was told that account was removed from group g.
func SawRemoved(g protocol.GroupID, account string) Predicate {
	return func(e *Events) bool {
		for _, m := range e.Members {
			if m.Group == g && slices.Contains(m.MembersRemoved, account) {
				return true
			}
		}
		return false
	}
}

// ToldRemoved: the client was told that its own account was removed from (or left) group g.
func ToldRemoved(g protocol.GroupID) Predicate {
	return func(e *Events) bool {
		for _, m := range e.Members {
			if m.Group == g && m.Removed {
				return true
			}
		}
		return false
	}
}

// ToldLost: the client was told that message lost, from sender, is missing in group g:
// by name (a later message's causal history) or as a gap in the sender installation's
// iterations.
func ToldLost(g protocol.GroupID, sender protocol.AccountInfo, lost protocol.MessageID) Predicate {
	return func(e *Events) bool {
		for _, m := range e.Missing {
			if m.Group != g || m.SenderAccount != sender.ID {
				continue
			}
			if m.ByHistory && m.MessageIDPrefix == [16]byte(lost[:16]) {
				return true
			}
			if !m.ByHistory && m.SenderInstallation == sender.Installation && m.To > m.From {
				return true
			}
		}
		return false
	}
}
