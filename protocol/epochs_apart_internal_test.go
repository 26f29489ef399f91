package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// TestApartRefusedNamed (review 28 finding 2, residual): we refused R (prev {P}) and
// applied H (prev {R}): our frontier {P, H} holds R's prev beside what names R, so the
// members that applied R stand on another epoch — apart finds R. A heal naming {P, H}
// ends it; so does nothing else: a refused R nobody named is not apart (the refused-open
// check names it), nor an R we applied (its namers are on our frontier).
func TestApartRefusedNamed(t *testing.T) {
	mk := func(tag byte, prev ...epoch.ID) (epoch.ID, keptSeed) {
		id := epoch.ID{tag, 1}
		k := keptSeed{ID: id.String(), Seed: "00"}
		for _, p := range prev {
			k.Prev = append(k.Prev, p.String())
		}
		return id, k
	}
	p, kp := mk(1)
	r, kr := mk(2, p)
	h, kh := mk(3, r)
	s := epoch.NewSchedule(epoch.ID{7})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Apply(epoch.Event{ID: p}))
	must(s.Refuse(r))
	m := &epochMeta{V: 2, Kept: []keptSeed{kp, kr}}
	if got := m.apart(s); len(got) != 0 {
		t.Fatalf("refused R, named by nothing we applied: apart %v", got)
	}
	must(s.Apply(epoch.Event{ID: h, Prev: epoch.Frontier{r}}))
	m.Kept = append(m.Kept, kh)
	if got := m.apart(s); len(got) != 1 || got[0] != r {
		t.Fatalf("frontier %v: apart %v, want [R]", s.Frontier(), got)
	}
	// At the member that applied R: nothing apart.
	s2 := epoch.NewSchedule(epoch.ID{7})
	must(s2.Apply(epoch.Event{ID: p}))
	must(s2.Apply(epoch.Event{ID: r, Prev: epoch.Frontier{p}}))
	must(s2.Apply(epoch.Event{ID: h, Prev: epoch.Frontier{r}}))
	if got := m.apart(s2); len(got) != 0 {
		t.Fatalf("R applied: apart %v", got)
	}
	heal, _ := mk(4)
	f, err := epoch.NewFrontier(p, h)
	must(err)
	must(s.Apply(epoch.Event{ID: heal, Prev: f}))
	if got := m.apart(s); len(got) != 0 {
		t.Fatalf("healed over {P, H}: apart %v", got)
	}
}

// TestBehindOverriddenApplied (fix 45, the other side of TestApartRefusedNamed): we applied
// R (prev {P}), H (prev {R}) and E (prev {H}); then our state kept R overridden and the cut
// dropped R's kept links. The members that refused R stand on {P, …}: behind finds P (applied,
// behind our frontier, named by no kept seed), so a key event of ours names it (keyEventPrev)
// and the epoch is unhealed. Not before the override; not once a heal names P.
func TestBehindOverriddenApplied(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rev := membership.Event{ChatID: "g", Clock: 7, Type: membership.MemberRemoved, From: "t"}
	r := epoch.ID(rev.ID())
	p, h, e := epoch.ID{1, 1}, epoch.ID{3, 1}, epoch.ID{4, 1}
	kept := func(id epoch.ID, prev ...epoch.ID) keptSeed {
		k := keptSeed{ID: id.String(), Seed: "00"}
		for _, q := range prev {
			k.Prev = append(k.Prev, q.String())
		}
		return k
	}
	s := epoch.NewSchedule(epoch.ID{7})
	must(s.Apply(epoch.Event{ID: p}))
	must(s.Apply(epoch.Event{ID: r, Prev: epoch.Frontier{p}}))
	must(s.Apply(epoch.Event{ID: h, Prev: epoch.Frontier{r}}))
	must(s.Apply(epoch.Event{ID: e, Prev: epoch.Frontier{h}}))
	m := &epochMeta{V: 2, Kept: []keptSeed{kept(p), kept(r, p), kept(h, r), kept(e, h)}}
	st := &membership.State{}
	if got := m.behind(s, st); len(got) != 0 {
		t.Fatalf("no override: behind %v", got)
	}
	st.Overridden = []membership.Event{rev}
	if got := m.behind(s, st); len(got) != 0 {
		t.Fatalf("R overridden, links not cut: behind %v", got)
	}
	lookup := func(epoch.ID) (*membership.Event, bool) { return nil, false }
	if !m.cutOverridden(s, st, lookup) {
		t.Fatal("cutOverridden cut nothing")
	}
	if got := m.behind(s, st); len(got) != 1 || got[0] != p {
		t.Fatalf("R cut: behind %v, want [P]", got)
	}
	if prev := keyEventPrev(s, m, st); !prev.Contains(p) || !prev.Contains(e) || len(prev) != 2 {
		t.Fatalf("keyEventPrev %v, want {P, E}", prev)
	}
	if got := m.apart(s); len(got) != 0 {
		t.Fatalf("R applied: apart %v", got)
	}
	heal := epoch.ID{5, 1}
	f, err := epoch.NewFrontier(p, e)
	must(err)
	must(s.Apply(epoch.Event{ID: heal, Prev: f}))
	m.Kept = append(m.Kept, kept(heal, f...))
	if got := m.behind(s, st); len(got) != 0 {
		t.Fatalf("healed over {P, E}: behind %v", got)
	}
}

// TestApartAllocs (fix 45 item 3): apart runs at every heal check (unhealed,
// mayBeOutranked: every key event received); with nothing apart it allocates nothing (it
// copied the frontier and rendered each id as a string: Schedule.InFrontier instead).
func TestApartAllocs(t *testing.T) {
	var kept []keptSeed
	prev := epoch.ID{}
	s := epoch.NewSchedule(epoch.ID{7})
	for i := range maxKeptSeeds {
		id := epoch.ID{byte(i + 1), 1}
		k := keptSeed{ID: id.String(), Seed: "00"}
		var f epoch.Frontier
		if i > 0 {
			k.Prev = []string{prev.String()}
			f = epoch.Frontier{prev}
		}
		if err := s.Apply(epoch.Event{ID: id, Prev: f}); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, k)
		prev = id
	}
	// A refused event on our frontier event, named by nothing we applied: looked at, not apart.
	r := epoch.ID{0xee, 1}
	if err := s.Refuse(r); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, keptSeed{ID: r.String(), Prev: []string{prev.String()}, Seed: "00"})
	m := &epochMeta{V: 2, Kept: kept}
	if got := m.apart(s); len(got) != 0 {
		t.Fatalf("apart %v, want none", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = m.apart(s) }); n != 0 {
		t.Errorf("apart: %.0f allocations a call with nothing apart, want 0", n)
	}
	st := &membership.State{}
	if n := testing.AllocsPerRun(100, func() { _ = m.behind(s, st) }); n != 0 {
		t.Errorf("behind: %.0f allocations a call with nothing behind, want 0", n)
	}
}
