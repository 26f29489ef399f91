package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// TestReview31BehindSuppressedByRefusedSeed — fix 45's epochMeta.behind looks for the
// applied kept seeds behind our frontier that "no kept seed names", counting every kept
// seed, the REFUSED ones (keepRefused: a member's uncommitted or overridden event, or a
// departed author's, kept for opening only) too. A refused key event naming P, the prev
// of the cut event R, so ends behind at an applier although nothing it applied names P and
// the refusers still stand on P: the applier, designated in the refusers' view, again sees
// nothing to heal — review 29's TestFix45ThirdApplierDesignated symptom (the heal waits
// for the refusers' overdue turn, one heal grace). A departed author whose key events
// are kept refused (processKeyBlock keeps a departed author's refused seed: review 27)
// can so hold it off at will by sending a key event with prev {P} (or the refusers'
// frontier {P, E}).
// Scene (TestBehindOverriddenApplied's): P, R (prev P, a removal), H (prev R), E (prev H)
// applied; R overridden and cut: behind = [P]. Then Z, a key event with prev {P} we
// refused (not applied), its seed kept.
// Asserted: behind is still [P] (nothing we applied names P).
// Result (merge26 26aa36f): fails — behind [] once Z's seed is kept.
// Suggested fix: count only applied namers (s.Applied(y)) in behind, as apart does.
func TestReview31BehindSuppressedByRefusedSeed(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rev := membership.Event{ChatID: "g", Clock: 7, Type: membership.MemberRemoved, From: "t"}
	r := epoch.ID(rev.ID())
	p, h, e, z := epoch.ID{1, 1}, epoch.ID{3, 1}, epoch.ID{4, 1}, epoch.ID{0xee, 1}
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
	st := &membership.State{Overridden: []membership.Event{rev}}
	lookup := func(epoch.ID) (*membership.Event, bool) { return nil, false }
	if !m.cutOverridden(s, st, lookup) {
		t.Fatal("cutOverridden cut nothing")
	}
	if got := m.behind(s, st); len(got) != 1 || got[0] != p {
		t.Fatalf("setup: R cut: behind %v, want [P]", got)
	}
	must(s.Refuse(z))
	m.Kept = keptInsert(m.Kept, kept(z, p), false)
	got := m.behind(s, st)
	t.Logf("refused Z (prev P) kept: behind %v, unhealed-side checks see %d", got, len(got))
	if len(got) != 1 || got[0] != p {
		t.Errorf("a refused key event's kept seed naming P ends behind: %v, want [P] (nothing applied names P)", got)
	}
}
