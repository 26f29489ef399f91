package protocol

import (
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
)

// TestKeptBoundRefusedApart: the kept-seeds bound (boundKept, keptInsert; review 27). On a
// linear history of applied key events, refused seeds (events not applied) never take the
// place of an applied event's seed: the last maxKeptSeeds applied seeds stay whatever
// number of refused seeds comes; a refused seed is placed at its prev's age and goes with
// it when that applied seed ages out — a chain of refused events each naming the one
// before goes with the applied event it grew from; at most maxRefusedKept refused seeds,
// the oldest dropped; m.Kept is replaced, never changed in place.
func TestKeptBoundRefusedApart(t *testing.T) {
	var group epoch.ID
	group[0] = 9
	s := epoch.NewSchedule(group)
	m := &epochMeta{V: 2}
	mk := func(i byte, prev ...epoch.ID) (epoch.ID, keptSeed) {
		var id epoch.ID
		id[0], id[1] = i, 0xaa
		k := keptSeed{ID: id.String(), Seed: id.String()}
		for _, p := range prev {
			k.Prev = append(k.Prev, p.String())
		}
		return id, k
	}
	var applied []epoch.ID
	apply := func(i byte) epoch.ID {
		var prev epoch.Frontier
		if len(applied) > 0 {
			prev = epoch.Frontier{applied[len(applied)-1]}
		}
		id, k := mk(i, prev...)
		if err := s.Apply(epoch.Event{ID: id, Prev: prev}); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, id)
		m.Kept = keptInsert(m.Kept, k, true)
		m.boundKept(s, nil)
		return id
	}
	refuse := func(i byte, prev epoch.ID) epoch.ID {
		id, k := mk(i, prev)
		before := m.Kept
		snapshot := slices.Clone(before)
		m.Kept = keptInsert(m.Kept, k, false)
		m.boundKept(s, nil)
		if !slices.EqualFunc(before, snapshot, func(a, b keptSeed) bool { return a.ID == b.ID }) {
			t.Fatal("kept seeds changed in place")
		}
		return id
	}
	ids := func() []string {
		var out []string
		for _, k := range m.Kept {
			out = append(out, k.ID[:2])
		}
		return out
	}
	countApplied := func() (n int) {
		for _, k := range m.Kept {
			if id, ok := hexID(k.ID); ok && s.Applied(id) {
				n++
			}
		}
		return n
	}
	for i := range byte(6) {
		apply(i + 1)
	}
	x := applied[1] // the event a refused chain grows from (the second oldest kept)
	r := refuse(0x41, x)
	for i := range byte(5) { // a chain: each names the one before
		r = refuse(0x42+i, r)
	}
	if countApplied() != maxKeptSeeds || len(m.Kept) != maxKeptSeeds+maxRefusedKept {
		t.Fatalf("kept %v: %d applied (want %d), %d in all (want %d)", ids(), countApplied(), maxKeptSeeds, len(m.Kept), maxKeptSeeds+maxRefusedKept)
	}
	for _, a := range applied {
		if !slices.ContainsFunc(m.Kept, func(k keptSeed) bool { return k.ID == a.String() }) {
			t.Fatalf("kept %v: applied %s dropped for a refused seed", ids(), a.String()[:2])
		}
	}
	if got := ids(); got[2] != "44" || got[3] != "45" || got[4] != "46" {
		t.Fatalf("kept %v: want the newest 3 of the chain right after its event's seed", got)
	}
	apply(7) // the oldest applied ages out: the chain is still at x's age
	if len(m.Kept) != maxKeptSeeds+maxRefusedKept {
		t.Fatalf("kept %v after one applied event", ids())
	}
	apply(8) // x ages out, and the chain with it
	if len(m.Kept) != maxKeptSeeds || countApplied() != maxKeptSeeds {
		t.Fatalf("kept %v: the refused chain outlived the applied seed it grew from", ids())
	}
	// A refused seed naming no kept seed is the oldest: it goes with the next applied one.
	refuse(0x51, epoch.ID{0xee})
	if ids()[0] != "51" {
		t.Fatalf("kept %v: want the refused seed of an unknown prev first", ids())
	}
	apply(9)
	if len(m.Kept) != maxKeptSeeds {
		t.Fatalf("kept %v: the refused seed of an unknown prev outlived the window", ids())
	}
	// A bounded list is left as it is.
	before := slices.Clone(m.Kept)
	m.boundKept(s, nil)
	if !slices.EqualFunc(before, m.Kept, func(a, b keptSeed) bool { return a.ID == b.ID }) {
		t.Fatal("a bounded list changed")
	}
}

// TestKeptBoundPerAuthor (fix 39): past maxRefusedKept refused seeds, a departed author
// holding more than one refused place while another author's refused seed is kept gives up
// its oldest first. A removed attacker's chain of refused events (x) does not push out
// another departed author's refused seed (t's R: fix 32's, refused at a and a2, which open
// b's heal with it); with one author only, or members' seeds only in excess, the oldest
// refused seed goes as before.
func TestKeptBoundPerAuthor(t *testing.T) {
	type author struct {
		name     string
		departed bool
	}
	run := func(t *testing.T, refusals []author) []string {
		var group epoch.ID
		group[0] = 9
		s := epoch.NewSchedule(group)
		m := &epochMeta{V: 2}
		authors := map[epoch.ID]author{}
		authorOf := func(id epoch.ID) (string, bool) {
			a := authors[id]
			return a.name, a.departed
		}
		mk := func(i byte, prev epoch.ID, zero bool) (epoch.ID, keptSeed) {
			var id epoch.ID
			id[0], id[1] = i, 0xaa
			k := keptSeed{ID: id.String(), Seed: id.String()}
			if !zero {
				k.Prev = []string{prev.String()}
			}
			return id, k
		}
		var last epoch.ID
		for i := range byte(maxKeptSeeds) {
			id, k := mk(i+1, last, i == 0)
			var prev epoch.Frontier
			if i > 0 {
				prev = epoch.Frontier{last}
			}
			if err := s.Apply(epoch.Event{ID: id, Prev: prev}); err != nil {
				t.Fatal(err)
			}
			m.Kept = keptInsert(m.Kept, k, true)
			m.boundKept(s, authorOf)
			last = id
		}
		x := last
		prevOf := map[string]epoch.ID{}
		var out []string
		for i, a := range refusals {
			p, ok := prevOf[a.name] // an author's events each name its one before (a chain)
			if !ok {
				p = x
			}
			id, k := mk(0x40+byte(i), p, false)
			authors[id] = a
			prevOf[a.name] = id
			before := slices.Clone(m.Kept)
			snapshot := m.Kept
			m.Kept = keptInsert(m.Kept, k, false)
			m.boundKept(s, authorOf)
			if !slices.EqualFunc(before, snapshot, func(a, b keptSeed) bool { return a.ID == b.ID }) {
				t.Fatal("kept seeds changed in place")
			}
		}
		applied := 0
		for _, k := range m.Kept {
			id, _ := hexID(k.ID)
			if s.Applied(id) {
				applied++
				continue
			}
			out = append(out, authors[id].name+k.ID[:2])
		}
		if applied != maxKeptSeeds {
			t.Fatalf("%d applied seeds kept, want %d", applied, maxKeptSeeds)
		}
		slices.Sort(out)
		return out
	}
	T, X, M := author{"t", true}, author{"x", true}, author{"m", false}
	for _, c := range []struct {
		name     string
		refusals []author
		want     []string
	}{
		{"R first, then a chain of 5", []author{T, X, X, X, X, X}, []string{"t40", "x44", "x45"}},
		{"a chain of 5, then R", []author{X, X, X, X, X, T}, []string{"t45", "x43", "x44"}},
		{"two departed authors' seeds and a chain", []author{T, X, X, author{"u", true}, X, X}, []string{"t40", "u43", "x45"}},
		{"one author only: the oldest go", []author{X, X, X, X, X}, []string{"x42", "x43", "x44"}},
		// t's seed names x, the newest applied event: placed before m's chain, the oldest.
		{"members' seeds in excess: the oldest go", []author{M, M, T, M}, []string{"m40", "m41", "m43"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := run(t, c.refusals); !slices.Equal(got, c.want) {
				t.Errorf("refused seeds kept %v, want %v", got, c.want)
			}
		})
	}
}
