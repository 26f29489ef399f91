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
// Sync or a pending retry, finds the same. Bounded by maxKeptSeeds² string compares.
func (m *epochMeta) apart(s *epoch.Schedule) []epoch.ID {
	if len(m.Kept) < 2 {
		return nil
	}
	var f []string
	for _, id := range s.Frontier() {
		f = append(f, id.String())
	}
	var out []epoch.ID
	for _, x := range m.Kept {
		id, ok := hexID(x.ID)
		if !ok || len(x.Prev) == 0 || s.Applied(id) || !slices.ContainsFunc(x.Prev, func(p string) bool { return slices.Contains(f, p) }) {
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

// apartInstalls returns the installations that stand aside as designated while our
// frontier is apart (epochMeta.apart): they applied a refused event and see nothing to
// heal — the authors of our frontier events not in its prev (they name it, or build on
// what does), and the installations of the refused event's author when our state holds
// the event (applied or kept overridden). Not ours.
func (t *txn) apartInstalls(gc *groupCache, s *epoch.Schedule, m *epochMeta) ([]*storage.InstallationRecord, error) {
	ids := m.apart(s)
	if len(ids) == 0 {
		return nil, nil
	}
	st := t.stateOf(gc)
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
		if !ok {
			ev, ok = overriddenEvent(st, id)
		}
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
