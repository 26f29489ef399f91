package epoch

import (
	"bytes"
	"testing"
)

// TestAdmitJoin: a newcomer that joined from one inviter's Welcome (frontier {R}, R a rekey
// after the add A and a concurrent event X) merges a second Welcome for A alone: the epoch of
// {A}, under which A's author still seals until it learns R, becomes live (oldest), and our
// current epoch stays the newest.
func TestAdmitJoin(t *testing.T) {
	g := testID("group")
	base := testID("base")
	a, x, r := testID("A"), testID("X"), testID("R")
	// The inviter of A: schedule {base} → {A}.
	inv := NewSchedule(g)
	_ = inv.Apply(Event{ID: base})
	_ = inv.SetSeed(base, testSeed("base"))
	_ = inv.Apply(Event{ID: a, Prev: Frontier{base}})
	_ = inv.SetSeed(a, testSeed("A"))
	epA, err := inv.Current()
	if err != nil {
		t.Fatal(err)
	}
	joinA, err := inv.JoinFor(a, testSeed("A"))
	if err != nil {
		t.Fatal(err)
	}
	// The newcomer, joined at {R} (R's prev = {A, X}).
	fx := mustFrontier(t, a, x)
	j := Join{
		{Event: a, Prev: Frontier{base}, Kind: SlotSeed, Value: *testSeed("A")},
		{Event: x, Prev: Frontier{base}, Kind: SlotSeed, Value: *testSeed("X")},
	}
	if bytes.Compare(a[:], x[:]) > 0 {
		j[0], j[1] = j[1], j[0]
	}
	s, err := NewScheduleFromJoin(g, j)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Frontier().Equal(fx) {
		t.Fatal("setup: frontier")
	}
	_ = s.Apply(Event{ID: r, Prev: fx})
	_ = s.SetSeed(r, testSeed("R"))
	cur, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	before := s.Live()
	for _, l := range before {
		if l.ID == epA.ID {
			t.Fatal("setup: the epoch of {A} is live before the merge")
		}
	}
	if err := s.AdmitJoin(joinA); err != nil {
		t.Fatal(err)
	}
	live := s.Live()
	if len(live) != len(before)+1 || live[0] != epA || live[len(live)-1] != cur {
		t.Fatalf("live after AdmitJoin: %d epochs (want %d), oldest is {A}: %v, newest is current: %v",
			len(live), len(before)+1, live[0] == epA, live[len(live)-1] == cur)
	}
	if got, _ := s.Current(); got != cur {
		t.Fatal("AdmitJoin changed the current epoch")
	}
	// Idempotent; our own frontier's join adds nothing.
	if err := s.AdmitJoin(joinA); err != nil || len(s.Live()) != len(live) {
		t.Fatal("a second AdmitJoin added an epoch")
	}
	own, err := s.JoinFor(r, testSeed("R"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AdmitJoin(own); err != nil || len(s.Live()) != len(live) {
		t.Fatal("the join of our own frontier added an epoch")
	}
	// A malformed join changes nothing.
	st := marshalState(t, s)
	if err := s.AdmitJoin(Join{{Event: x, Prev: Frontier{r}, Kind: 9}}); err == nil {
		t.Fatal("malformed join admitted")
	}
	if string(marshalState(t, s)) != string(st) {
		t.Fatal("a refused join changed the schedule")
	}
}
