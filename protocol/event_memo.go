// The id index of a group's applied membership events (issue 13): prevAgrees looks up the
// events a key block names on every key event; hashing the whole log into a fresh index
// each time grew with the log.

package protocol

import (
	"bytes"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// eventMemo indexes by id the events of a state it was built from. Which events those are
// is checked against a state before each use (eventsOfState), event by event, by author and
// signature: a signature binds the chat id and payload its author signed, hence the event's
// id and parents (both functions of author, chat id and payload); an event without one
// matches no memo (the index is rebuilt). A memo is never changed
// once shared: extending one appends past its n, to arrays and a map that the memos it
// came from ignore (lookups check both the index and the id).
type eventMemo struct {
	chatID string
	n      int
	keys   []eventKey // [:n] of the events indexed, in order
	ids    []epoch.ID // [:n]
	byID   map[epoch.ID]int
}

// eventKey is an event's author and signature. The signature is the event's own slice,
// shared, not copied (an event's bytes are replaced, never written): comparing it with
// the same event's, as a state that holds the memo's events does, costs no byte
// comparison (equal pointers), where a copy compared 65 bytes per event of the log on
// every key event (issue 13); another slice with the same bytes still matches.
type eventKey struct {
	from string
	sig  []byte
}

// lookup returns the index of the event with id among the memo's n.
func (m *eventMemo) lookup(id epoch.ID) (int, bool) {
	i, ok := m.byID[id]
	if !ok || i >= m.n || m.ids[i] != id {
		return 0, false
	}
	return i, true
}

// prefixOf returns how many of st's events the memo indexes (the length of the common
// prefix, -1 if the memo indexes an event st does not have at its place).
func (m *eventMemo) prefixOf(st *membership.State) int {
	if m == nil || m.chatID != st.ChatID || m.n > len(st.Events) {
		return -1
	}
	for i := range m.n {
		ev := &st.Events[i]
		if len(ev.Signature) == 0 || m.keys[i].from != ev.From || !bytes.Equal(m.keys[i].sig, ev.Signature) {
			return -1
		}
	}
	return m.n
}

// extend returns a memo of st's events built on m, which indexes the first n of them
// (m nil: a new one).
func (m *eventMemo) extend(st *membership.State, n int) *eventMemo {
	if m == nil || len(m.byID) > 2*len(st.Events)+64 {
		// New, or too much left in the shared map by extensions that were dropped.
		m, n = &eventMemo{chatID: st.ChatID, byID: make(map[epoch.ID]int, len(st.Events))}, 0
	}
	next := &eventMemo{chatID: st.ChatID, n: len(st.Events), keys: m.keys[:n], ids: m.ids[:n], byID: m.byID}
	for i := n; i < len(st.Events); i++ {
		ev := &st.Events[i]
		id := epoch.ID(ev.ID())
		next.keys = append(next.keys, eventKey{from: ev.From, sig: ev.Signature})
		next.ids = append(next.ids, id)
		if j, ok := next.byID[id]; !ok || j >= i || next.ids[j] != id {
			next.byID[id] = i // the first event with an id wins (ids bind parents: any does)
		}
	}
	return next
}

// eventsOfState returns the id index of the events of st, a state of gc's group (gc's as
// of this transaction, or the one a membership change is moving it to before the
// transaction records it: cutKept): the client's memo (hotPath.events) where it still
// holds, extended or rebuilt otherwise. A memo built here is the transaction's until it
// commits.
func (t *txn) eventsOfState(gc *groupCache, st *membership.State) (*eventMemo, *membership.State) {
	m, ok := t.eventMemos[gc.id]
	if !ok {
		m = t.c.hot.events[gc.id]
	}
	n := m.prefixOf(st)
	if n == len(st.Events) {
		return m, st
	}
	if n < 0 {
		m, n = nil, 0
	}
	m = m.extend(st, n)
	if t.eventMemos == nil {
		t.eventMemos = map[GroupID]*eventMemo{}
	}
	t.eventMemos[gc.id] = m
	c, id := t.c, gc.id
	t.onCommit(func() {
		if c.hot.events == nil {
			c.hot.events = map[GroupID]*eventMemo{}
		}
		c.hot.events[id] = m
	})
	return m, st
}

// eventLookup returns the event lookup of prevAgrees over the events of gc's state as of
// this transaction.
func (t *txn) eventLookup(gc *groupCache) func(epoch.ID) (*membership.Event, bool) {
	return t.eventLookupOf(gc, t.stateOf(gc))
}

// eventLookupOf is eventLookup over the events of st, a state of gc's group.
func (t *txn) eventLookupOf(gc *groupCache, st *membership.State) func(epoch.ID) (*membership.Event, bool) {
	m, st := t.eventsOfState(gc, st)
	return func(id epoch.ID) (*membership.Event, bool) {
		i, ok := m.lookup(id)
		if !ok {
			return nil, false
		}
		return &st.Events[i], true
	}
}
