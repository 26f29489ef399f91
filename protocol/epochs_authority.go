// Key schedule v2: a rekey's authority over its causal membership past (spec "Authority",
// auth9).

package protocol

import (
	"bytes"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// rekeyHeads returns the membership heads a rekey we author names (spec "Key events"): the
// heads of our applied membership state (causal rules; none under Status rules),
// canonical, at most epoch.MaxFrontier (the smallest ids when there are more).
func rekeyHeads(st *membership.State) epoch.Frontier {
	if len(st.Heads) == 0 {
		return nil
	}
	ids := make(epoch.Frontier, len(st.Heads))
	for i, h := range st.Heads {
		ids[i] = epoch.ID(h)
	}
	slices.SortFunc(ids, func(a, b epoch.ID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	return ids[:min(len(ids), epoch.MaxFrontier)]
}

// departedIn reports whether the departure of account is in the causal membership past of
// rekey kb (spec "Authority"): the past, through membership events' parents, of kb's heads,
// of each prev that is a membership event we hold, and of the heads s keeps for each prev
// rekey in its frontier. A departure is a MEMBER_REMOVED naming account (a leave is its
// own) with no MEMBERS_ADDED naming it in that past whose own past holds the removal.
// errPending: a prev is a key event we never met, or a head of a prev rekey by a member is
// not an event we keep, applied or overridden (kb waits for it, as a membership key event
// whose event is not applied yet); kb's own heads and a departed author's we do not keep
// are leaves of the past. Called only for an author account no member now.
func (t *txn) departedIn(gc *groupCache, st *membership.State, s *epoch.Schedule, kb *epoch.KeyBlock, account string) (bool, error) {
	var removals, adds []epoch.ID
	for i := range st.Events {
		ev := &st.Events[i]
		if (ev.Type == membership.MemberRemoved || ev.Type == membership.MembersAdded) && slices.Contains(ev.Members, account) {
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
