package membership_test

import (
	"fmt"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestCausalExtendCostIndependentOfLog: a receiver extending a causal group's state by one
// event at a time (Extend, Update's shortcut) allocates about as much per event whether
// the group holds 100 or 2000 past events (issue 13: the next state copied the whole
// event list, 256 B an event, for every event: O(events) per key event, growing in a
// long-lived group). Measured over 64 events after a first one (which may copy the list
// a derivation built), as bytes allocated per event.
func TestCausalExtendCostIndependentOfLog(t *testing.T) {
	const extra = 64
	per := map[int]float64{}
	for _, past := range []int{100, 2000} {
		d := newDAG(t, fmt.Sprintf("extend-cost-%d", past))
		prev := "genesis"
		for i := range past + extra {
			label := fmt.Sprintf("e%d", i)
			d.add(label, "alice", m.Event{Type: m.NameChanged, Name: label, Clock: uint64(101 + i)}, prev)
			prev = label
		}
		st := d.derive(d.all[:past]...)
		next, err := m.Extend(&st, d.all[past:past+1]) // may copy what Derive built
		if err != nil {
			t.Fatal(err)
		}
		st = next
		evs := d.all[past+1:]
		states := make([]m.State, 0, extra)
		got := allocated(func() {
			s := st
			states = states[:0]
			for i := range evs {
				n, err := m.Extend(&s, evs[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				s = n
				states = append(states, n)
			}
		})
		last := states[len(states)-1]
		if len(last.Events) != past+1+extra || last.Name != fmt.Sprintf("e%d", past+extra-1) {
			t.Fatalf("%d past events: %d events, name %q after the extensions", past, len(last.Events), last.Name)
		}
		// Every state of the run still holds its own events (a later extension did not
		// write over an earlier state's).
		for i, s := range states {
			if n := past + 2 + i; len(s.Events) != n || s.Events[n-1].Name != fmt.Sprintf("e%d", past+i) {
				t.Fatalf("%d past events: state %d holds %d events, last %q", past, i, len(s.Events), s.Events[len(s.Events)-1].Name)
			}
		}
		per[past] = float64(got) / extra
		t.Logf("%d past events: %.0f B allocated per event extended", past, per[past])
	}
	if per[2000] > 1.5*per[100]+512 {
		t.Errorf("extending a state of 2000 past events allocated %.0f B per event, of 100: %.0f B (want about the same)", per[2000], per[100])
	}
}

// TestCausalExtendSameStateTwice: extensions of one state by different events
// (concurrently, then one after another) each hold their own event last, the state keeps its events,
// and a later extension of either result is not written over by the others (the array
// with room is claimed by one extension at a time).
func TestCausalExtendSameStateTwice(t *testing.T) {
	d := newDAG(t, "extend-twice")
	d.add("e0", "alice", m.Event{Type: m.NameChanged, Name: "e0", Clock: 101}, "genesis")
	d.add("e1", "alice", m.Event{Type: m.NameChanged, Name: "e1", Clock: 102}, "e0")
	st := d.derive(d.all[:2]...)
	st, err := m.Extend(&st, d.all[2:3]) // room to grow from here
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	branch := make([]m.Event, n)
	for i := range branch {
		branch[i] = d.add(fmt.Sprintf("b%d", i), "alice", m.Event{Type: m.NameChanged, Name: fmt.Sprintf("b%d", i), Clock: uint64(200 + i)}, "e1")
	}
	check := func(what string, got []m.State) {
		t.Helper()
		for i, s := range got {
			if len(s.Events) != 4 || s.Events[3].Name != fmt.Sprintf("b%d", i) || s.Name != fmt.Sprintf("b%d", i) {
				t.Fatalf("%s: extension %d holds %d events, last %q, name %q", what, i, len(s.Events), s.Events[len(s.Events)-1].Name, s.Name)
			}
		}
		if len(st.Events) != 3 || st.Events[2].Name != "e1" {
			t.Fatalf("%s: the extended state changed: %d events", what, len(st.Events))
		}
	}
	conc := make([]m.State, n)
	done := make(chan error, n)
	for i := range branch {
		go func() {
			var err error
			conc[i], err = m.Extend(&st, branch[i:i+1])
			done <- err
		}()
	}
	for range branch {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	check("concurrently", conc)
	seq := make([]m.State, n)
	for i := range branch {
		if seq[i], err = m.Extend(&st, branch[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	check("one after another", seq)
	// Each result extended again (the one that holds the room in place, the others into
	// arrays of their own): every earlier state keeps its events.
	for i := range conc {
		c := d.add(fmt.Sprintf("c%d", i), "alice", m.Event{Type: m.NameChanged, Name: fmt.Sprintf("c%d", i), Clock: uint64(300 + i)}, fmt.Sprintf("b%d", i))
		next, err := m.Extend(&conc[i], []m.Event{c})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Events) != 5 || next.Events[3].Name != fmt.Sprintf("b%d", i) || next.Events[4].Name != fmt.Sprintf("c%d", i) {
			t.Fatalf("extension %d extended again: %d events", i, len(next.Events))
		}
	}
	check("concurrently, after the others", conc)
	check("one after another, after the others", seq)
}
