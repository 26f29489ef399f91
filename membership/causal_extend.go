package membership

import (
	"bytes"
	"slices"
	"sync/atomic"
)

// extendCausal is Update's shortcut for a causal group: it applies incoming events to
// stored (a state Derive or Update returned, possibly with Pending bounded) without
// deriving the whole log again, in the cases where the causal rules' result is known
// from stored alone. It reports false when it cannot tell; the caller then derives the
// whole log (the result is the same either way; TestCausalExtendMatchesDerive).
//
// An incoming event is taken when it names exactly the heads of the state so far as its
// parents. Its causal past is then every kept event (each kept event is a head or an
// ancestor of one), so it is judged against the current state (rule 2), it is
// concurrent with no kept event (rules C1-C3 override nothing, neither it nor an earlier
// event; no kept event is its twin, rule 1), it comes after every kept event in the order of
// application, and it is not known yet (a known event with those parents would have made
// them non-heads). It must also be valid against the current state, with well-formed
// causal fields, and no pending event may wait for it or have its author and effect (a
// held twin, rule 1). Naming the heads makes them needed, which holds no kept event: a head
// has no twin that is not held (of two twins not held both are needed), and a held event is
// pending, never a head. An incoming event that is byte for byte an applied or overridden
// event changes nothing and is skipped.
func extendCausal(stored *State, incoming []Event) (State, bool) {
	if stored.Version != RulesCausal || len(stored.Events) == 0 || (stored.Events[0].Type != ChatCreated && stored.Base == nil) || len(stored.Heads) == 0 {
		return State{}, false
	}
	chatID := stored.ChatID
	var v verifier
	var keys keyChecker
	var cs *cstate
	heads := stored.Heads
	var added []Event
	for i := range incoming {
		ev := incoming[i]
		if ev.ChatID != "" && ev.ChatID != chatID {
			return State{}, false
		}
		from, digest, bad, err := v.authorFields(chatID, &ev)
		if err != nil || bad || (ev.From != "" && ev.From != from) {
			return State{}, false
		}
		ev.From, ev.ChatID = from, chatID
		id := EventID(orderHash(from, digest))
		if !sameIDs(ev.Parents, heads) {
			if len(added) == 0 && knownIdentical(stored, id, &ev) {
				continue
			}
			return State{}, false
		}
		for j := range stored.Pending {
			// A pending event that waits for ev, or that has ev's author and effect (a
			// held twin, rule 1, or one that may become ev's twin): derive.
			if p := &stored.Pending[j]; slices.Contains(p.Parents, id) || p.From == from && sameEffect(p, &ev) {
				return State{}, false
			}
		}
		if cs == nil {
			cs = cstateOf(stored)
		}
		if ev.Members.Len() > 8 {
			cs.members.index() // many checks: an index costs less than scans
		}
		if !cs.valid(&ev, &keys) {
			return State{}, false
		}
		cs.apply(&ev)
		added = append(added, ev)
		heads = []EventID{id}
	}
	if len(added) == 0 {
		return *stored, true
	}
	next := *stored
	next.Name, next.Color, next.Description, next.Image = cs.name, cs.color, cs.description, cs.image
	next.Members, next.Admins, next.LastClock = cs.members.members(), hexesOf(cs.admins.items), cs.lastClock
	next.Events, next.room = appendEvents(stored, added)
	next.Heads = heads
	// Shared, not copied (no change: nothing writes a state's lists in place; clipped, so
	// an append by the caller copies).
	next.Overridden = slices.Clip(stored.Overridden)
	next.Pending = slices.Clip(stored.Pending)
	return next, true
}

// eventRoom is an array that the Events of causal states extended from one another
// (extendCausal) are prefixes of, with room to grow: an extension writes its events past
// the end of the stored state's instead of copying the whole list (issue 13: a key event
// copied the group's whole event list, O(events) per event in a long-lived group).
// used is the length of the longest prefix a state was given: a state may write past its
// end only when its Events end there (otherwise another state holds the elements past
// its end). States hold their Events clipped (len == cap): an append by anyone else
// copies.
type eventRoom struct {
	arr  []Event // len(arr) == cap(arr)
	used atomic.Int64
}

// appendEvents returns stored's events followed by added and the room they are in: in
// stored's room when added fits there and nothing was written past stored's events yet,
// in a new room (with space for an eighth more events) otherwise.
func appendEvents(stored *State, added []Event) ([]Event, *eventRoom) {
	n, k := len(stored.Events), len(added)
	if r := stored.room; r != nil && n > 0 && n+k <= len(r.arr) && &r.arr[0] == &stored.Events[0] &&
		r.used.CompareAndSwap(int64(n), int64(n+k)) {
		copy(r.arr[n:], added)
		return r.arr[: n+k : n+k], r
	}
	r := &eventRoom{arr: make([]Event, n+k+n/8+4)}
	copy(r.arr[copy(r.arr, stored.Events):], added)
	r.used.Store(int64(n + k))
	return r.arr[: n+k : n+k], r
}

// sameIDs reports whether parents and heads (sorted, distinct) name the same events.
func sameIDs(parents, heads []EventID) bool {
	if len(parents) != len(heads) {
		return false
	}
	for _, p := range parents {
		if _, ok := slices.BinarySearchFunc(heads, p, func(a, b EventID) int { return bytes.Compare(a[:], b[:]) }); !ok {
			return false
		}
	}
	return true
}

// knownIdentical reports whether the applied or overridden events of st hold an event
// with id whose entry is byte for byte ev's (the newest are looked at first: what is
// repeated is mostly recent).
func knownIdentical(st *State, id EventID, ev *Event) bool {
	for _, list := range [][]Event{st.Overridden, st.Events} {
		for i := len(list) - 1; i >= 0; i-- {
			k := &list[i]
			if k.From == ev.From && k.ID() == id {
				return bytes.Equal(k.Signature, ev.Signature) && k.samePayload(ev)
			}
		}
	}
	return false
}

// cstateOf is the rules' view of a derived state (its sets share the state's lists until
// they change, and have no maps: the few checks of a few events scan them, which costs
// less than indexing a large group's members).
func cstateOf(st *State) *cstate {
	return &cstate{members: &orderedSet{base: st.Members, shared: true}, admins: &orderedSet{items: idsOf(st.Admins)},
		name: st.Name, color: st.Color, description: st.Description, image: st.Image, lastClock: st.LastClock}
}
