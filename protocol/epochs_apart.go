// Key schedule v2, the heal check: a frontier apart from the members that applied a key
// event we refused (review 28 finding 2, residual).

package protocol

import (
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
)

// apart returns the key events we refused (kept seeds never applied: an overridden
// membership event's block, an uncommitted one's) that a key event we applied names as
// prev while our frontier still holds one of their prev. The members that applied such an
// event X — its author, and the author of the key event naming it, applied before the
// override reached them (fix 36: their kept seeds' links cut) — stand on a frontier past
// X, we on X's prev beside what names it: two epochs for good, nobody seeing anything to
// heal (review 28, TestReview28C2OverriddenRemovalNotCut: b applied t's removal R and
// rekeyed H_b, prev {R}; C2-overridden, R was refused by a and a2, which stood on {F0,
// H_b}; b's heal E, prev {H_b}, left them on {F0, E} and b on {E}). The epoch is unhealed
// while one is found (unhealed, mayBeOutranked): our heal names our frontier, X's prev
// beside what names it, and every member applies it to one frontier. It ends there: X's
// prev leaves our frontier. It depends on s and m alone (the kept seeds record each
// event's prev), so every path that applies a key event or a membership change, live,
// Sync or a pending retry, finds the same. Bounded by maxKeptSeeds² string compares; it
// allocates nothing unless it finds one (the frontier looked up by Schedule.InFrontier, not
// copied and rendered as strings: TestApartAllocs).
func (m *epochMeta) apart(s *epoch.Schedule) []epoch.ID {
	if len(m.Kept) < 2 {
		return nil
	}
	inFrontier := func(p string) bool {
		id, ok := hexID(p)
		return ok && s.InFrontier(id)
	}
	var out []epoch.ID
	for _, x := range m.Kept {
		id, ok := hexID(x.ID)
		if !ok || len(x.Prev) == 0 || s.Applied(id) || !slices.ContainsFunc(x.Prev, inFrontier) {
			continue
		}
		named := slices.ContainsFunc(m.Kept, func(y keptSeed) bool {
			yid, ok := hexID(y.ID)
			return ok && slices.Contains(y.Prev, x.ID) && s.Applied(yid)
		})
		if named {
			out = append(out, id)
		}
	}
	return out
}

// behind returns the key events a key event of ours names as prev beside our frontier
// (keyEventPrev) because the members that refused a key event we applied stand on them:
// the other side of apart. We applied X before the override reached us (C1/C2: our state
// keeps it overridden) and cutOverridden cut its kept seed's links; its prev P, applied
// and left behind our frontier (X named it), is then named by no kept seed, while the
// refusers, X superseded for them, still hold P in their frontier beside what names X
// (review 29: TestFix45ThirdApplierDesignated — c applied t's removal R, b's H_b and b's
// heal E; a and a2 stood on {F0, E}; with b and t aside, c was designated in their view and
// saw nothing, so the heal waited for the overdue fallback, one heal grace). A member that
// applied X without naming anything past it is one no refuser can tell from those that
// refused it, so every member past X that knows the override finds the epoch unhealed, as
// the refusers do (apart), and whichever side's installation is designated heals at once:
// naming P beside its frontier, or its frontier beside X. The heal names P, which ends it
// (P named by a kept seed again), as it ends apart. When nobody refused X (every member
// applied it before the override) this costs one heal per such override, naming a P that
// every member has superseded. Read only; at most maxKeptSeeds² string compares.
func (m *epochMeta) behind(s *epoch.Schedule, st *membership.State) []epoch.ID {
	if st == nil || len(st.Overridden) == 0 || len(m.Kept) < 2 {
		return nil
	}
	cut := slices.ContainsFunc(m.Kept, func(k keptSeed) bool {
		if len(k.Prev) > 0 {
			return false
		}
		id, ok := hexID(k.ID)
		if !ok || !s.Applied(id) {
			return false
		}
		_, over := overriddenEvent(st, id)
		return over
	})
	if !cut {
		return nil
	}
	var out []epoch.ID
	for _, k := range m.Kept {
		id, ok := hexID(k.ID)
		if !ok || !s.Applied(id) || s.InFrontier(id) {
			continue
		}
		if len(k.Prev) == 0 {
			if _, over := overriddenEvent(st, id); over {
				continue // a cut event: the refusers refused it
			}
		}
		// Named by an applied kept seed only: a refused one kept for opening (a departed
		// author's, with prev {k}) does not move anyone past k (review 31,
		// TestReview31BehindSuppressedByRefusedSeed), as in apart.
		if !slices.ContainsFunc(m.Kept, func(y keptSeed) bool {
			if !slices.Contains(y.Prev, k.ID) {
				return false
			}
			yid, ok := hexID(y.ID)
			return ok && s.Applied(yid)
		}) {
			out = append(out, id)
		}
	}
	return out
}

// apartInstalls returns the installations that stand aside as designated while our
// frontier is apart (epochMeta.apart) from a refused event our state does not keep
// overridden (an uncommitted one's block): they applied it and see nothing to heal — the
// authors of our frontier events not in its prev (they name it, or build on what does),
// and the installations of the refused event's author when our state holds the event
// (applied). For an event our state keeps overridden nobody stands aside: the
// members that applied it find the epoch unhealed once the override reaches them
// (epochMeta.behind), and setting some of them aside would have two heal at once, one
// past it and one of us (fix 45). Not ours.
func (t *txn) apartInstalls(gc *groupCache, s *epoch.Schedule, m *epochMeta) ([]*storage.InstallationRecord, error) {
	ids := m.apart(s)
	if len(ids) == 0 {
		return nil, nil
	}
	st := t.stateOf(gc)
	ids = slices.DeleteFunc(ids, func(id epoch.ID) bool {
		_, over := overriddenEvent(st, id)
		return over
	})
	if len(ids) == 0 {
		return nil, nil
	}
	var prev []string
	var accts []string
	for _, id := range ids {
		k := id.String()
		for _, x := range m.Kept {
			if x.ID == k {
				prev = append(prev, x.Prev...)
			}
		}
		ev, ok := appliedEvent(st, id)
		if ok && st.IsMember(ev.From) && !slices.Contains(accts, ev.From) {
			accts = append(accts, ev.From)
		}
	}
	var out []*storage.InstallationRecord
	for _, id := range s.Frontier() {
		cv := m.Covered[id.String()]
		if cv == nil || slices.Contains(prev, id.String()) || cv.Author == t.c.acct.inst {
			continue
		}
		out = append(out, &storage.InstallationRecord{ID: cv.Author})
	}
	if len(accts) > 0 {
		ins, err := t.installationsOf(membership.MembersOf(accts...))
		if err != nil {
			return nil, err
		}
		for i := range ins {
			if ins[i].ID != t.c.acct.inst {
				out = append(out, &ins[i])
			}
		}
	}
	return out, nil
}
