package epoch

import (
	"fmt"
	"maps"
	"slices"
)

// MaxProvisional bounds the provisional events a Schedule keeps a record of (spec
// "Authority", Retraction, descendants): an event past it is applied without one, and a
// retraction that would have to undo it is refused (ErrMismatch) or stops at it.
const MaxProvisional = 32

// undoRecord is what a schedule keeps of a provisional event so that a retraction can take
// it back after it left the frontier (where the prev sets and origins of other events are
// dropped): the prev set it was applied with and its origin. Never written once made.
type undoRecord struct {
	prev   Frontier
	origin *RekeyOrigin
}

// noteProvisional records applied event ev if it is provisional — a prev it names is an
// unseen id held on some author's word, or a recorded event — within MaxProvisional, and
// drops the records no longer needed (pruneRecords). Review 12 (Known limits (2),
// TestReview12RetractChainedRekey, TestReview12RetractedRekeyDescendant): a departed
// author's second rekey RX2 over RX, or a member's own rekey K over RX, took RX out of
// the frontier with its prev set, so that RX, named by nothing in the frontier, was never
// retracted when the heal it named came, and the member stayed on an epoch the group
// never had.
func (s *Schedule) noteProvisional(ev Event) {
	if _, ok := s.rec[ev.ID]; !ok && s.pending(ev.Prev) && len(s.rec) < MaxProvisional {
		r := undoRecord{prev: ev.Prev.clone()}
		if ev.Rekey != nil {
			o := *ev.Rekey
			o.Heads = o.Heads.clone()
			r.origin = &o
		}
		if s.rec == nil {
			s.rec = map[ID]undoRecord{}
		}
		s.rec[ev.ID] = r
	}
	s.pruneRecords()
}

// reprev gives recorded event ev.ID the prev set its signed block names (SeenPrev), and
// records it if that makes it provisional.
func (s *Schedule) reprev(ev Event) {
	if r, ok := s.rec[ev.ID]; ok {
		s.rec[ev.ID] = undoRecord{prev: ev.Prev.clone(), origin: r.origin}
		s.pruneRecords()
		return
	}
	var o *RekeyOrigin
	if x, ok := s.origin[ev.ID]; ok {
		o = &x
	}
	s.noteProvisional(Event{ID: ev.ID, Prev: ev.Prev, Rekey: o})
}

// pending reports whether prev names an unseen id held on an author's word or a recorded
// event.
func (s *Schedule) pending(prev Frontier) bool {
	for _, p := range prev {
		if s.known.flag(p)&(flagApplied|flagHeld) == flagHeld {
			return true
		}
		if _, ok := s.rec[p]; ok {
			return true
		}
	}
	return false
}

// pruneRecords drops the records of events no longer provisional (every held id they
// depend on applied, forgotten or released), and of events no longer applied.
func (s *Schedule) pruneRecords() {
	for changed := len(s.rec) > 0; changed; {
		changed = false
		for id, r := range s.rec {
			if s.known.flag(id)&flagApplied == 0 || !s.pending(r.prev) {
				delete(s.rec, id)
				changed = true
			}
		}
	}
	if len(s.rec) == 0 {
		s.rec = nil
	}
}

// Recorded returns the provisional events the schedule keeps a record of, ascending.
func (s *Schedule) Recorded() []ID {
	return slices.SortedFunc(maps.Keys(s.rec), cmpID)
}

// Record returns the prev set and origin recorded for provisional event id (ok false: no
// record). A frontier event's prev set is also Prev's; an event that left the frontier
// has only this. origin is nil for a membership key event or a legacy rekey; prev and
// origin are copies.
func (s *Schedule) Record(id ID) (prev Frontier, origin *RekeyOrigin, ok bool) {
	r, ok := s.rec[id]
	if !ok {
		return nil, nil, false
	}
	if r.origin != nil {
		o := *r.origin
		o.Heads = o.Heads.clone()
		origin = &o
	}
	return r.prev.clone(), origin, true
}

// appendRecords appends the records (state version 3, written only when there are some):
// a count, then per record, by ascending id, the id, its prev set and its origin.
func (s *Schedule) appendRecords(b []byte) []byte {
	ids := s.Recorded()
	b = append(b, byte(len(ids)))
	for _, id := range ids {
		r := s.rec[id]
		b = appendIDs(append(b, id[:]...), r.prev)
		b = appendOrigin(b, r.origin)
	}
	return b
}

// readRecords reads the records into n, whose known ids and frontier are decoded: strict
// (ids ascending, at most MaxProvisional, each applied and provisional, its prev marked
// superseded and a frontier event's the same as its entry's, its origin matching its id).
func (n *Schedule) readRecords(r *reader, none bool) error {
	c := int(r.u8())
	if r.err == nil && (c == 0 && !none || c > MaxProvisional) { // none: version 2 (version 4: 0 allowed)
		return fmt.Errorf("%w: %d records", ErrMalformed, c)
	}
	var last ID
	for i := 0; i < c && r.err == nil; i++ {
		id, prev := r.id(), r.ids()
		o, ok := readOrigin(r)
		if r.err != nil {
			break
		}
		if !ok || (i > 0 && cmpID(last, id) >= 0) || n.known.flag(id)&flagApplied == 0 || !prev.valid() || prev.Contains(id) {
			return fmt.Errorf("%w: record %d not canonical", ErrMalformed, i)
		}
		if len(prev) == 0 {
			prev = nil
		}
		for _, p := range prev {
			if n.known.flag(p)&flagSuperseded == 0 {
				return fmt.Errorf("%w: record %d names a prev not marked superseded", ErrMalformed, i)
			}
		}
		if n.frontier.Contains(id) && !prev.Equal(n.prev[id]) {
			return fmt.Errorf("%w: record %d: prev differs from its frontier entry's", ErrMalformed, i)
		}
		if o != nil && o.ID(n.group, prev) != id {
			return fmt.Errorf("%w: record %d: rekey id does not match its nonce and prev", ErrMismatch, i)
		}
		if n.rec == nil {
			n.rec = map[ID]undoRecord{}
		}
		n.rec[id] = undoRecord{prev: prev, origin: o}
		last = id
	}
	if r.err != nil {
		return r.err
	}
	for id, rec := range n.rec {
		if !n.pending(rec.prev) {
			return fmt.Errorf("%w: record of %s not provisional", ErrMalformed, id)
		}
	}
	return nil
}
