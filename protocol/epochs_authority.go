// Key schedule v2: a rekey's authority over its causal membership past (spec "Authority",
// auth9).

package protocol

import (
	"bytes"
	"errors"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
)

// rekeyHeads returns the membership heads a rekey we author names (spec "Key events"): the
// heads of our applied membership state (causal rules; none under Status rules),
// canonical, at most epoch.MaxFrontier (when there are more: departures first, then
// members' events, then the rest, the smallest ids of each).
func rekeyHeads(st *membership.State) epoch.Frontier {
	if len(st.Heads) == 0 {
		return nil
	}
	ids := make(epoch.Frontier, len(st.Heads))
	for i, h := range st.Heads {
		ids[i] = epoch.ID(h)
	}
	byID := func(a, b epoch.ID) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(ids, byID)
	ids = slices.Compact(ids)
	if len(ids) > epoch.MaxFrontier {
		// More heads than a rekey names: departures first, then members' events, then
		// the rest (events of departed authors: anyone leaving can make many concurrent
		// ones, ground to small ids, to push its departure out of the smallest 32; review
		// 11, TestReview11RekeyHeadsHoldDeparture), by id within each.
		rank := map[epoch.ID]int{} // 0 a departure, 1 a member's event; absent: the rest
		for _, evs := range [][]membership.Event{st.Events, st.Overridden} {
			for i := range evs {
				switch ev := &evs[i]; {
				case ev.Type == membership.MemberRemoved:
					rank[epoch.ID(ev.ID())] = 0
				case st.IsMember(ev.From):
					rank[epoch.ID(ev.ID())] = 1
				}
			}
		}
		rankOf := func(id epoch.ID) int {
			if r, ok := rank[id]; ok {
				return r
			}
			return 2
		}
		slices.SortStableFunc(ids, func(a, b epoch.ID) int { return rankOf(a) - rankOf(b) })
		ids = ids[:epoch.MaxFrontier]
		slices.SortFunc(ids, byID)
	}
	return ids
}

// departedIn reports whether the departure of account is in the causal membership past of
// rekey kb (spec "Authority"): the past, through membership events' parents, of kb's heads,
// of each prev that is a membership event we hold, and of the heads s keeps for each prev
// rekey in its frontier. A departure is a MEMBER_REMOVED naming account (a leave is its
// own) with no MEMBERS_ADDED naming it in that past whose own past holds the removal.
// errPending: a prev is a key event we never met, or a head of a prev rekey by a member is
// not an event we keep, applied or overridden (kb waits for it, as a membership key event
// whose event is not applied yet); kb's own heads and a departed author's we do not keep
// are leaves of the past. Called only for an author account no member now. also, if not
// nil, is the rekey block being applied (retractDeparted): a prev naming its event takes
// its heads, as a prev rekey in s's frontier would.
func (t *txn) departedIn(gc *groupCache, st *membership.State, s *epoch.Schedule, kb *epoch.KeyBlock, account string, also *epoch.KeyBlock) (bool, error) {
	var removals, adds []epoch.ID
	for i := range st.Events {
		ev := &st.Events[i]
		if (ev.Type == membership.MemberRemoved || ev.Type == membership.MembersAdded) && ev.Members.Contains(account) {
			if ev.Type == membership.MemberRemoved {
				removals = append(removals, epoch.ID(ev.ID()))
			} else {
				adds = append(adds, epoch.ID(ev.ID()))
			}
		}
	}
	if len(removals) == 0 {
		return false, nil // never removed: no departure in any past
	}
	// Kept events: applied, and overridden ones (a head may be one: an event of an author
	// removed concurrently with it is kept, and named as parent, but not applied).
	applied := t.eventLookup(gc)
	lookup := func(id epoch.ID) (*membership.Event, bool) {
		if ev, ok := applied(id); ok {
			return ev, true
		}
		for i := range st.Overridden {
			if epoch.ID(st.Overridden[i].ID()) == id {
				return &st.Overridden[i], true
			}
		}
		return nil, false
	}
	u := make([]membership.EventID, 0, len(kb.Heads)+len(kb.Prev))
	for _, h := range kb.Heads { // the author's own: a head we do not keep is a leaf
		u = append(u, membership.EventID(h))
	}
	for _, p := range kb.Prev {
		if _, ok := lookup(p); ok {
			u = append(u, membership.EventID(p)) // a membership key event
			continue
		}
		hs, author, ok := s.Heads(p)
		if also != nil && p == also.Event && also.Kind == epoch.KindRekey {
			hs, author, ok = also.Heads, also.Author, true
		}
		if !ok {
			if !s.Applied(p) && !s.Superseded(p) {
				// A key event we never met (the heal after the author's departure, say,
				// not received yet): the rekey waits for it rather than be judged without
				// its heads.
				return false, errPending
			}
			continue
		}
		for _, h := range hs {
			if _, ok := lookup(h); !ok {
				// A head of a member's rekey we do not keep yet: it may hide the departure
				// (the heal after it names what its author applied since), so the rekey
				// waits for it; a departed author's heads are its word (leaves).
				if in, err := t.installationView(InstallationID(author)); err == nil && !in.Revoked && st.IsMember(in.Account) {
					return false, errPending
				}
			}
			u = append(u, membership.EventID(h))
		}
	}
	in := pastHolds(lookup, u, append(slices.Clone(removals), adds...))
	for _, r := range removals {
		if !in[r] {
			continue
		}
		readded := slices.ContainsFunc(adds, func(a epoch.ID) bool {
			ev, ok := lookup(a)
			return in[a] && ok && pastHolds(lookup, ev.Parents, []epoch.ID{r})[r]
		})
		if !readded {
			return true, nil
		}
	}
	return false, nil
}

// retractDeparted re-judges, before key block kb is applied, the rekeys of accounts no
// member now that name kb's event as a prev never applied (held on their author's word),
// with kb's heads for it (spec "Authority", retraction): the frontier rekeys and the
// recorded ones (epoch.Schedule.Record: applied while provisional, superseded since by
// the author's next rekey or a member's rekey over it). One whose author's departure is in
// its causal membership past now is retracted with every frontier or recorded event
// descended from it (epoch.Schedule.Retract: the frontier before them, their prev forgotten
// so that kb's event enters the frontier, their kept seeds dropped from m), as the members
// that met kb's event first refused it. Review 11 finding 1: a member handed a departed
// author's rekey before the departure and the heal it names applied it, and stayed on its
// epoch for good; review 12 (TestReview12RetractChainedRekey,
// TestReview12RetractedRekeyDescendant): the same when the author's second rekey, or the
// member's own rekey, had superseded it. It reports whether s or m changed; a rekey that
// cannot be judged yet (a head not kept) or cannot be retracted (a prev only retracted
// events superseded was applied and kb does not name it; a descendant kept nowhere) stays.
func (t *txn) retractDeparted(gc *groupCache, st *membership.State, s *epoch.Schedule, m *epochMeta, kb *epoch.KeyBlock) (bool, error) {
	if s.Applied(kb.Event) || !s.Superseded(kb.Event) {
		return false, nil // only an id a rekey named before it was met
	}
	changed := false
	cands := slices.Concat(s.Frontier(), s.Recorded())
	slices.SortFunc(cands, func(a, b epoch.ID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range slices.Compact(cands) {
		prev, o, ok := s.Prev(id), epoch.RekeyOrigin{}, false
		if rp, ro, rec := s.Record(id); rec {
			prev, ok = rp, ro != nil
			if ok {
				o = *ro
			}
		} else {
			o, ok = s.Origin(id)
		}
		if !ok || !s.Applied(id) || !prev.Contains(kb.Event) {
			continue // not a rekey with an origin kept, or retracted with an earlier one
		}
		in, err := t.installationView(InstallationID(o.Author))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if st.IsMember(in.Account) {
			continue
		}
		rb := &epoch.KeyBlock{Kind: epoch.KindRekey, Event: id, Author: o.Author, Prev: prev, Heads: o.Heads}
		departed, err := t.departedIn(gc, st, s, rb, in.Account, kb)
		if errors.Is(err, errPending) || err == nil && !departed {
			continue
		}
		if err != nil {
			return false, err
		}
		gone, err := s.Retract(id, keyAuthor(in.Account), kb.Prev)
		if err != nil {
			t.c.log.Debug("departed rekey not retracted", "event", shortID(id), "err", err)
			continue
		}
		// In place (fix 39 checked): no cache aliases m.Kept's array. m is loadV2's, a
		// clone of the bookkeeping memo (epochMeta.clone copies Kept) or a fresh decode
		// whose memo entry is a clone; storeMeta and the candidate memo keep clones too. So
		// a transaction that fails leaves every cache as it was. The kept seeds' Prev
		// slices are shared with the memo's clone, but DeleteFunc moves entries, it never
		// writes into a Prev.
		m.Kept = slices.DeleteFunc(m.Kept, func(k keptSeed) bool {
			return slices.ContainsFunc(gone, func(g epoch.ID) bool { return k.ID == g.String() })
		})
		t.c.log.Debug("departed rekey retracted", "group", gc.id.String()[:8], "event", shortID(id),
			"author", InstallationID(o.Author).String()[:8], "with", shortIDs(gone), "frontier", shortIDs(s.Frontier()))
		changed = true
	}
	return changed, nil
}

// prevAgrees checks a membership key event's prev set against the event's causal past
// (spec "Key events"; causal rules only, where events name their parents): every
// membership event prev names is in that past, and every event of our frontier in that
// past is in prev or behind one of them. A prev holding a rekey (not a membership event)
// may supersede more than we can see: only the first part is checked then.
func prevAgrees(lookup func(epoch.ID) (*membership.Event, bool), ev membership.Event, prev epoch.Frontier, frontier epoch.Frontier) bool {
	if ev.Type == membership.ChatCreated {
		return len(prev) == 0
	}
	if len(ev.Parents) == 0 {
		return true // Status or v1 rules: no causal past to check against
	}
	// Which of prev and frontier are in the event's causal past: the search stops once all
	// are found (usually at once: prev names the event's parent), not walking the whole log.
	mine := pastHolds(lookup, ev.Parents, append(slices.Clone(prev), frontier...))
	var held []*membership.Event // the events prev names
	lenient := false
	for _, p := range prev {
		e, ok := lookup(p)
		if !ok {
			lenient = true // a rekey, or an event we do not hold
			continue
		}
		if !mine[p] {
			return false
		}
		held = append(held, e)
	}
	if lenient {
		return true
	}
	for _, k := range frontier {
		if !mine[k] || prev.Contains(k) {
			continue
		}
		if !slices.ContainsFunc(held, func(e *membership.Event) bool { return pastHolds(lookup, e.Parents, []epoch.ID{k})[k] }) {
			return false
		}
	}
	return true
}

// pastHolds returns which of targets are reachable from parents (parents included): the
// walk stops once every target is found.
func pastHolds(lookup func(epoch.ID) (*membership.Event, bool), parents []membership.EventID, targets []epoch.ID) map[epoch.ID]bool {
	found := make(map[epoch.ID]bool, len(targets))
	want := make(map[epoch.ID]bool, len(targets))
	for _, t := range targets {
		want[t] = true
	}
	seen := map[epoch.ID]bool{}
	stack := make([]epoch.ID, 0, len(parents))
	for _, p := range parents {
		stack = append(stack, epoch.ID(p))
	}
	for len(stack) > 0 && len(found) < len(want) {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if want[p] {
			found[p] = true
		}
		if e, ok := lookup(p); ok {
			for _, q := range e.Parents {
				stack = append(stack, epoch.ID(q))
			}
		}
	}
	return found
}
