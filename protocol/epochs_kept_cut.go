// Key schedule v2, kept seeds: the cut of an overridden event's links (fix 36), run wherever
// the membership state or the kept seeds change (fix 39).

package protocol

import (
	"bytes"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
)

// cutOverridden drops the prev links of the kept seeds of key events s applied that st
// judges overridden for good — a membership event the rules keep overridden (rule C1 or
// C2, its author a member or not: TestReview28C2OverriddenRemovalNotCut) or one rule C3
// applied, its author's departure concurrent with it (departedConcurrent). Every member that learns of the override refuses such
// an event's block (refuseOverridden): in their schedules it is superseded, never
// applied, and its prev is not behind what names it. We applied it before the override
// reached us; with its links cut, our kept seeds' candidates compose the epochs the
// refusers stand on — its prev beside a key event naming it (fix 36,
// TestFix32MutualRemovalParentLate: b applied t's removal R and healed H_b, prev {R}; a
// and a2, which refused R, stood on {P, H_b}, P being R's prev, and the designated heal
// sealed under that epoch was never opened by b, in whose kept seeds P was behind H_b
// through R). Only links between kept seeds are cut, so candidates are only added (every
// antichain before is one after), bounded as every kept seeds' candidate (maxKeptSeeds,
// maxCandidateSize), and composed from seeds we hold: no installation gains an epoch it
// could not compute. It depends on our state alone: storeSchedule runs it with the
// schedule it stores, cutKept with the membership state applyMembership commits (fix 39:
// an override that came as membership changes alone, no key event with them, waited for
// our next key event, TestFix39KeptCutByMembershipAlone). st nil leaves m as it is. It
// reports whether it cut a link.
//
// lookup finds st's applied events by id (the transaction's event index, eventLookupOf).
// The work is per kept seed, not per event of the log: the applied kept seeds with links
// (at most maxKeptSeeds), each looked up by id, the membership check only for the events
// found, departedConcurrent (a walk of the log's removals) only for an applied event whose
// author is no member — where before every event of the log had its author checked at
// every key event.
func (m *epochMeta) cutOverridden(s *epoch.Schedule, st *membership.State, lookup func(epoch.ID) (*membership.Event, bool)) bool {
	if st == nil || len(m.Kept) == 0 {
		return false
	}
	var ids [maxKeptSeeds]epoch.ID
	var idx [maxKeptSeeds]int
	n := 0
	for i, k := range m.Kept {
		if n == len(ids) || len(k.Prev) == 0 {
			continue
		}
		if id, ok := hexID(k.ID); ok && s.Applied(id) {
			ids[n], idx[n] = id, i
			n++
		}
	}
	if n == 0 {
		return false
	}
	var out []keptSeed // a new slice: m's may be shared with a clone's
	cut := func(j int) {
		if out == nil {
			out = slices.Clone(m.Kept)
		}
		out[idx[j]].Prev = nil
	}
	for j, id := range ids[:n] {
		if ev, ok := lookup(id); ok {
			if !st.IsMember(ev.From) && departedConcurrent(lookup, st, *ev) {
				cut(j) // rule C3 applied it, its author departed concurrently
			}
			continue
		}
		if _, ok := overriddenEvent(st, id); ok {
			cut(j) // kept overridden (rule C1 or C2), its author a member or not
		}
	}
	if out == nil {
		return false
	}
	m.Kept = out
	return true
}

// cutKept runs cutOverridden over group g's kept seeds with st, the membership state
// applyMembership moves g to (v2, a member), before g is stored: every membership change
// goes through it — a message's, a pending one's retry, Sync and history, a Welcome's log —
// so an override that comes without a key event cuts our kept seeds at once, not at our
// next key event (fix 39). A heal another member made meanwhile, sealed under the epoch
// the refusers stand on, opens here without one of ours. Nothing is written unless a link
// is cut; then the bookkeeping is stored in g (the caller puts g) and the live epochs,
// with the candidates gained, installed at commit (the schedule is unchanged: the current
// epoch is as it was).
func (t *txn) cutKept(g *storage.GroupRecord, gc *groupCache, st *membership.State) error {
	if len(g.Schedule) == 0 || len(g.EpochMeta) == 0 {
		return nil
	}
	lookup := t.eventLookupOf(gc, st)
	// A look first, on the memos of g's schedule and bookkeeping as they are (s is only
	// read, and cutOverridden replaces m.Kept, never writes in it): the clones loadV2 makes
	// only when a link is cut (they cost 20 allocations per membership key event received,
	// BenchmarkKeyEventReceive at 50 members).
	if sm, ok := t.c.scheds[g.ID]; ok && bytes.Equal(sm.enc, g.Schedule) {
		if mm, ok := t.c.metas[g.ID]; ok && bytes.Equal(mm.enc, g.EpochMeta) {
			probe := epochMeta{Kept: mm.m.Kept}
			if !probe.cutOverridden(sm.s, st, lookup) {
				return nil
			}
		}
	}
	s, m, err := t.loadV2(g)
	if err != nil {
		return err
	}
	if !m.cutOverridden(s, st, lookup) {
		return nil
	}
	if err := t.storeMeta(g, m); err != nil {
		return err
	}
	live := t.openable(s, m)
	var cur *epoch.Epoch
	if e, err := s.Current(); err == nil {
		cur = &e
	}
	t.c.log.Debug("kept seeds cut by a membership change", "group", g.ID.String()[:8], "live", len(live))
	t.setLive(gc, live, cur)
	return nil
}

// keptAuthorOf returns boundKept's authorOf over st (nil: none): the account that authored
// a kept seed's membership event, applied (lookup) or kept overridden, and whether it is no
// member; "" for an event st does not hold (a rekey).
func keptAuthorOf(st *membership.State, lookup func(epoch.ID) (*membership.Event, bool)) func(epoch.ID) (string, bool) {
	if st == nil || lookup == nil {
		return nil
	}
	return func(id epoch.ID) (string, bool) {
		ev, ok := lookup(id)
		if !ok {
			o, found := overriddenEvent(st, id)
			if !found {
				return "", false
			}
			ev = &o
		}
		return ev.From, !st.IsMember(ev.From)
	}
}
