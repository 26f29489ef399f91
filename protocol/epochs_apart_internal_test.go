package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/epoch"
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
