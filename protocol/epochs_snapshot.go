// Key schedule v2, snapshot add Welcome: joining a group from its inviter's state snapshot
// instead of its event log, and the full-log Welcome an inviter sends when a concurrent
// event leaves such a newcomer unable to judge it (spec: "Welcome v2", snapshot add Welcome).

package protocol

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

var errSnapshotTrust = errors.New("protocol: snapshot welcome not from the admin that added us")

// handleSnapshotWelcome handles a snapshot add Welcome w sent by installation inst of
// from. For a group we do not hold (or still join from a creation Welcome: then only the
// creator's or our own account's reaches here, handleWelcomeV2), it joins us only when the
// sender is the inviter: an unrevoked installation of an admin of the
// snapshot whose MEMBERS_ADDED naming us is among the carried (signed) events, the
// snapshot naming us a member (or an installation of our own account: a linked device's
// Welcome). For a group we hold, that add must also be new to us and
// later than every event we hold (a replayed or stale snapshot cannot undo our removal);
// then we join afresh (we were removed, perhaps without learning it, and added again).
// Any other snapshot Welcome for a group we are in (a based member's rekey Welcome) is a
// member's: its carried events are merged like any received events, its join like a
// member's Welcome's.
func (t *txn) handleSnapshotWelcome(from string, inst InstallationID, g *storage.GroupRecord, gc *groupCache, w *wire.WelcomeV2) error {
	c := t.c
	self := c.acct.id
	st, err := membership.ParseSnapshot(w.ChatID, w.Snapshot)
	if err != nil {
		return fmt.Errorf("protocol: welcome snapshot: %w", err)
	}
	if st.ChatID != w.ChatID {
		return errors.New("protocol: welcome snapshot of another chat")
	}
	if !clocksNotAhead(&st, c.now()) {
		// The clock rule of every received event (membership.Update): a snapshot a day
		// ahead had us sign every later event a day ahead, dropped by all
		// (TestSecSnapshotFutureClock).
		return errors.New("protocol: welcome snapshot with a clock ahead of ours")
	}
	if len(st.Events)+len(st.Overridden)+len(st.Pending) != len(st.Base.Events) {
		// Later events are a stored based state's (SnapshotOf makes none): taken from a
		// Welcome they escaped the pending bounds (TestSecSnapshotWelcomeLaterEvents).
		return errors.New("protocol: welcome snapshot with events besides its carried ones")
	}
	if in, err := t.Installation(inst); err != nil || in.Revoked || in.Account != from {
		return errors.New("protocol: snapshot welcome from an unknown or revoked installation")
	}
	add := inviterAdd(&st, from, self)
	// Our inviter, or an installation of our own account (a linked device's Welcome).
	trusted := st.IsMember(self) && (add != nil && st.IsAdmin(from) || from == self && (g == nil || joiningV2(gc)))
	if trusted && g != nil && !joiningV2(gc) {
		// We hold the group. While we are a member of it, a snapshot never makes us join
		// afresh: its state and join are the sender's word, and an admin (or one that
		// has left since, its Welcome sent just before) could move us to a state and an
		// epoch only it holds (TestSecSnapshotActiveMember). Otherwise it is a member's
		// Welcome (below), whose events are judged against our log. For
		// a group we left or were removed from, the add must be new to us and later than
		// every event we hold (a replayed or stale snapshot cannot undo our removal).
		held := add != nil && slices.ContainsFunc(gc.state.Log(), func(e membership.Event) bool { return e.ID() == add.ID() })
		later := add != nil && !held && add.Clock > gc.state.LastClock
		switch {
		case g.Status == GroupActive && later:
			// A re-add while we are a member: we may have missed our removal. It waits
			// (a pending envelope, bounded as every one) and joins us once our removal
			// is applied, never while we are a member.
			return errPending
		case g.Status == GroupActive:
			trusted = false
		case !later:
			return errors.New("protocol: snapshot welcome for a group we left, not newer than our removal")
		}
	}
	if !trusted && g != nil && g.Status == GroupActive && !joiningV2(gc) {
		// A member's Welcome for a group we are in (a based member's rekey Welcome).
		next, err := membership.Extend(&gc.state, st.Base.Events)
		if err != nil {
			return err
		}
		boundPending(&next)
		return t.memberWelcome(g, gc, &next, from, inst, st.Base.Events, w)
	}
	if !trusted {
		// Not from our inviter: refused, even from a member (a based member's rekey
		// Welcome reaching us before our inviter's; spec › Known limits).
		return errSnapshotTrust
	}
	return t.joinV2(from, w, &st)
}

// clocksNotAhead reports whether st's last clock and its base's carried events are at
// most membership.MaxClockDriftMs ahead of now (the drift Update allows a received event).
func clocksNotAhead(st *membership.State, now time.Time) bool {
	limit := uint64(max(now.UnixMilli(), 0)) + membership.MaxClockDriftMs
	if st.LastClock > limit || st.Base.LastClock > limit {
		return false
	}
	for i := range st.Base.Events {
		if st.Base.Events[i].Clock > limit {
			return false
		}
	}
	return true
}

// inviterAdd returns the carried MEMBERS_ADDED of st's base authored by from that names
// self (nil: none).
func inviterAdd(st *membership.State, from, self string) *membership.Event {
	for i := range st.Base.Events {
		e := &st.Base.Events[i]
		if e.Type == membership.MembersAdded && e.From == from && e.Members.Contains(self) {
			return e
		}
	}
	return nil
}

// reWelcomeConcurrent is the inviter's side of a snapshot add: when an applied membership
// event is the first (of any account, ours included) concurrent with a MEMBERS_ADDED we
// authored (applied, or held by causal rule 1),
// the newcomers of that add (still members) get a full-log Welcome, with a join for our
// frontier: a newcomer based on our snapshot cannot judge an event concurrent with its add
// without the log, nor any later event (they descend from it). However late the event
// (an admin offline for days, a member signing with an old past on purpose: the newcomer
// stalled for good when only events within PendingTTL of the add were answered,
// TestSnapshotLateConcurrentEvent), each add is answered once in the group's life: one
// log per snapshot add, what the add Welcome would have carried without a snapshot. old
// and next are the states before and after the events were applied.
func (t *txn) reWelcomeConcurrent(g *storage.GroupRecord, old, next *membership.State) ([]*storage.OutboxRecord, error) {
	c := t.c
	if next.Base != nil || next.Version != membership.RulesCausal || !next.IsMember(c.acct.id) {
		return nil, nil // a based member holds no log to send
	}
	if descendAll(old, next) {
		return nil, nil // the usual case: nothing new is concurrent with anything we held
	}
	// Cheap first: no add of ours at all (applied or pending), nothing to answer — the usual
	// case for a member that never added anyone, without a pass building the log's map.
	ours := func(e membership.Event) bool { return e.Type == membership.MembersAdded && e.From == c.acct.id }
	if !slices.ContainsFunc(next.Events, ours) && !slices.ContainsFunc(next.Pending, ours) {
		return nil, nil
	}
	byID := make(map[epoch.ID]*membership.Event, len(next.Events)+len(next.Overridden))
	for _, list := range [][]membership.Event{next.Events, next.Overridden} {
		for i := range list {
			byID[epoch.ID(list[i].ID())] = &list[i]
		}
	}
	// Our adds: applied ones, and held ones (causal rule 1: a pending add of ours with
	// every parent kept, its twin kept in its place) — a newcomer's snapshot may be headed
	// by an add of ours that a twin (signed by another installation of our account, or a
	// backdated copy) has since made held: events descending from the twin are concurrent
	// with the add the newcomer holds (fix 46, TestFix44InviterCopyStallsNewcomer).
	var adds []*membership.Event
	for li, list := range [][]membership.Event{next.Events, next.Pending} {
		for i := range list {
			e := &list[i]
			if e.Type != membership.MembersAdded || e.From != c.acct.id {
				continue
			}
			if li == 1 && slices.ContainsFunc(e.Parents, func(p membership.EventID) bool { return byID[epoch.ID(p)] == nil }) {
				continue // waiting for a parent, not held
			}
			adds = append(adds, e)
		}
	}
	if len(adds) == 0 {
		return nil, nil
	}
	known := make(map[membership.EventID]bool, len(old.Events)+len(old.Overridden)+len(old.Pending))
	for _, list := range [][]membership.Event{old.Events, old.Overridden, old.Pending} {
		for i := range list {
			known[list[i].ID()] = true
		}
	}
	// Whether an event of old was concurrent with an add (its newcomers were answered
	// then), worked out only for the adds a new event is concurrent with.
	answered := map[membership.EventID]bool{}
	var children map[membership.EventID][]membership.EventID
	wasAnswered := func(a *membership.Event) bool {
		done, ok := answered[a.ID()]
		if !ok {
			if children == nil {
				children = childrenOf(old)
			}
			done = concurrentHeld(old, byID, children, a)
			answered[a.ID()] = done
		}
		return done
	}
	var newcomers []string
	for li, list := range [][]membership.Event{next.Events, next.Overridden, next.Pending} {
		for i := range list {
			e := &list[i]
			// A held event (causal rule 1: pending with every parent kept) triggers as a kept
			// one does, since it answers the add once held (concurrentHeld); a waiting one
			// (a parent missing) does neither.
			if li == 2 && slices.ContainsFunc(e.Parents, func(p membership.EventID) bool { return byID[epoch.ID(p)] == nil }) {
				continue
			}
			// Our own account's events count too: one signed by another installation of
			// ours (or a copy of our add) can be concurrent with an add of ours; ours from
			// this installation name our heads and descend from every applied add.
			if known[e.ID()] {
				continue
			}
			past := causalPast(byID, e.Parents)
			for _, a := range adds {
				if a.ID() == e.ID() || past[epoch.ID(a.ID())] || !slices.ContainsFunc(a.Members.Strings(), next.IsMember) || wasAnswered(a) {
					continue
				}
				for _, m := range a.Members.All() {
					if next.IsMember(m) && !slices.Contains(newcomers, m) {
						newcomers = append(newcomers, m)
					}
				}
			}
		}
	}
	if len(newcomers) == 0 {
		return nil, nil
	}
	full, err := t.Group(g.ID)
	if err != nil {
		return nil, err
	}
	s, _, err := loadV2(full)
	if err != nil {
		return nil, err
	}
	var join epoch.Join
	for _, id := range s.Frontier() {
		if seed, ok := s.Seed(id); ok {
			if join, err = s.JoinFor(id, &seed); err == nil {
				break
			}
		}
	}
	if join == nil {
		return nil, nil // unhealed: our rekey will welcome whoever it misses
	}
	ins, err := t.installationsOfAccounts(newcomers)
	if err != nil {
		return nil, err
	}
	c.log.Debug("full-log welcome for an add concurrent with an event", "group", g.ID.String()[:8], "newcomers", len(newcomers))
	return t.welcomeV2To(full, next, ins, join, "")
}

// concurrentHeld reports whether old holds (applied, overridden, or held by causal rule 1:
// pending with every parent kept) an event concurrent with add: one in neither add's
// causal past nor its future (our own account's included: fix 46). Its newcomers got the
// full log when we applied the first such event. A held one counts: an event that answered
// the add and was then made held by its author's later twin must not make the add
// unanswered again (review 32, TestReview32TwinWelcomeStorm: one full log per two events of
// an admin). children is childrenOf(old).
func concurrentHeld(old *membership.State, byID map[epoch.ID]*membership.Event, children map[membership.EventID][]membership.EventID,
	add *membership.Event) bool {
	addID := add.ID()
	past := causalPast(byID, add.Parents)
	future := map[membership.EventID]bool{addID: true}
	for stack := []membership.EventID{addID}; len(stack) > 0; {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ch := range children[id] {
			if !future[ch] {
				future[ch] = true
				stack = append(stack, ch)
			}
		}
	}
	for li, list := range [][]membership.Event{old.Events, old.Overridden, old.Pending} {
		for i := range list {
			e := &list[i]
			if li == 2 && slices.ContainsFunc(e.Parents, func(p membership.EventID) bool { return byID[epoch.ID(p)] == nil }) {
				continue // waiting for a parent: never answered anything
			}
			if id := e.ID(); id != addID && !future[id] && !past[epoch.ID(id)] {
				return true
			}
		}
	}
	return false
}

// childrenOf maps each event id to the ids of st's kept events (applied or overridden)
// naming it as a parent.
func childrenOf(st *membership.State) map[membership.EventID][]membership.EventID {
	children := map[membership.EventID][]membership.EventID{}
	for _, list := range [][]membership.Event{st.Events, st.Overridden} {
		for i := range list {
			for _, p := range list[i].Parents {
				children[p] = append(children[p], list[i].ID())
			}
		}
	}
	return children
}

// descendAll reports whether next is old with events appended (applied, none overridden)
// each of which names every head of old as a parent or has a parent among the appended
// events that does: then none is concurrent with an event of old (any other shape is
// left to the full check). It costs the appended events times old's heads, not the log.
func descendAll(old, next *membership.State) bool {
	n := len(old.Events)
	if len(next.Events) < n || len(next.Overridden) != len(old.Overridden) || len(old.Heads) == 0 || len(next.Pending) > len(old.Pending) {
		return false // (a new pending event may be a held twin concurrent with an add: full check)
	}
	if n > 0 && !slices.Equal(next.Events[n-1].Signature, old.Events[n-1].Signature) {
		return false
	}
	after := map[membership.EventID]bool{} // appended events whose past holds every head of old
	for i := n; i < len(next.Events); i++ {
		e := &next.Events[i]
		ok := slices.ContainsFunc(e.Parents, func(p membership.EventID) bool { return after[p] })
		if !ok {
			ok = true
			for _, h := range old.Heads {
				ok = ok && slices.Contains(e.Parents, h)
			}
		}
		if !ok {
			return false
		}
		after[e.ID()] = true
	}
	return true
}
