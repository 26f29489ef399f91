package protocol

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// prevAgreesFull is prevAgrees as it was before its walks stopped early: the whole causal
// pasts, compared.
func prevAgreesFull(lookup func(epoch.ID) (*membership.Event, bool), ev membership.Event, prev, frontier epoch.Frontier) bool {
	if ev.Type == membership.ChatCreated {
		return len(prev) == 0
	}
	if len(ev.Parents) == 0 {
		return true
	}
	past := func(parents []membership.EventID) map[epoch.ID]bool { return causalPastBy(lookup, parents) }
	mine := past(ev.Parents)
	var behind []map[epoch.ID]bool
	lenient := false
	for _, p := range prev {
		e, ok := lookup(p)
		if !ok {
			lenient = true
			continue
		}
		if !mine[p] {
			return false
		}
		b := past(e.Parents)
		b[p] = true
		behind = append(behind, b)
	}
	if lenient {
		return true
	}
	for _, k := range frontier {
		if !mine[k] {
			continue
		}
		if !slices.ContainsFunc(behind, func(b map[epoch.ID]bool) bool { return b[k] }) {
			return false
		}
	}
	return true
}

// TestPrevAgreesBounded: prevAgrees, whose walks stop once what they look for is found,
// decides as the walk of whole causal pasts does, over random event DAGs, prev sets and
// frontiers (held and unheld ids).
func TestPrevAgreesBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	agree, disagree := 0, 0
	for round := range 3000 {
		n := 2 + r.IntN(30)
		ids := make([]epoch.ID, n)
		evs := make(map[epoch.ID]*membership.Event, n)
		for i := range ids {
			ids[i][0], ids[i][1], ids[i][2] = byte(round), byte(round>>8), byte(i+1)
			ev := &membership.Event{Type: membership.MembersAdded}
			for j := range i {
				if r.IntN(4) == 0 || j == i-1 && r.IntN(2) == 0 {
					ev.Parents = append(ev.Parents, membership.EventID(ids[j]))
				}
			}
			evs[ids[i]] = ev
		}
		unheld := epoch.ID{0xff, byte(round), 0xee} // sorted after the held ids, or before
		if r.IntN(2) == 0 {
			unheld[0] = 0
		}
		lookup := func(id epoch.ID) (*membership.Event, bool) { e, ok := evs[id]; return e, ok }
		pick := func() epoch.Frontier {
			var f []epoch.ID
			for range r.IntN(4) {
				if r.IntN(10) == 0 {
					f = append(f, unheld)
				} else {
					f = append(f, ids[r.IntN(n)])
				}
			}
			slices.SortFunc(f, func(a, b epoch.ID) int { return slices.Compare(a[:], b[:]) })
			return slices.Compact(f)
		}
		ev := *evs[ids[n-1]]
		if len(ev.Parents) == 0 {
			ev.Parents = []membership.EventID{membership.EventID(ids[r.IntN(n-1)])}
		}
		prev, frontier := pick(), pick()
		got, want := prevAgrees(lookup, ev, prev, frontier), prevAgreesFull(lookup, ev, prev, frontier)
		if got != want {
			t.Fatalf("round %d: prevAgrees = %v, the whole pasts say %v", round, got, want)
		}
		if want {
			agree++
		} else {
			disagree++
		}
	}
	if agree < 100 || disagree < 100 {
		t.Fatalf("cases not varied: %d agree, %d disagree", agree, disagree)
	}
}
