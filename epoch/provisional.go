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

// noteProvisional records applied event ev, applied on by's word (zero: Apply, our own),
// if it is provisional and worth a record (recordable), within MaxProvisional, and drops
// the records no longer needed (pruneRecords). Review 12 (Known limits (2),
// TestReview12RetractChainedRekey, TestReview12RetractedRekeyDescendant): a departed
// author's second rekey RX2 over RX, or a member's own rekey K over RX, took RX out of
// the frontier with its prev set, so that RX, named by nothing in the frontier, was never
// retracted when the heal it named came, and the member stayed on an epoch the group
// never had.
func (s *Schedule) noteProvisional(ev Event, by Author) {
	if _, ok := s.rec[ev.ID]; !ok && s.recordable(ev.Prev, by) && len(s.rec) < MaxProvisional {
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
// records it if that makes it provisional (by: the block's author).
func (s *Schedule) reprev(ev Event, by Author) {
	if r, ok := s.rec[ev.ID]; ok {
		s.rec[ev.ID] = undoRecord{prev: ev.Prev.clone(), origin: r.origin}
		s.pruneRecords()
		return
	}
	var o *RekeyOrigin
	if x, ok := s.origin[ev.ID]; ok {
		o = &x
	}
	s.noteProvisional(Event{ID: ev.ID, Prev: ev.Prev, Rekey: o}, by)
}

// recordable reports whether an event applied on by's word with prev set prev is recorded
// (review 14, TestReview14RecordsPoisoned, TestReview14ConcurrentAddFillsRecords: with
// every provisional event recorded, one id never met — a made-up prev, the removal an
// added member never opens — made every later key event of the group provisional, each
// naming a frontier descended from a recorded one, and the records were full for good
// after 32 ordinary key events): prev names an unseen id held on some author's word (a
// root), or a recorded event of whose roots' holders by is one (the departed author's
// next rekey over its own: RX2 over RX), or by is zero (our own event: K over RX). A
// member's event over another author's recorded one is applied without a record: what
// it names can no longer be retracted once it leaves the frontier (pruneRecords).
func (s *Schedule) recordable(prev Frontier, by Author) bool {
	var named []ID
	for _, p := range prev {
		if s.known.flag(p)&(flagApplied|flagHeld) == flagHeld {
			return true
		}
		if _, ok := s.rec[p]; ok {
			named = append(named, p)
		}
	}
	if len(named) == 0 {
		return false
	}
	if by == (Author{}) {
		return true
	}
	return slices.Contains(s.rootHolders(named), by)
}

// rootHolders returns the authors holding the unseen ids that recorded events ids and
// their recorded ancestors name.
func (s *Schedule) rootHolders(ids []ID) []Author {
	var out []Author
	seen := map[ID]bool{}
	for len(ids) > 0 {
		id := ids[len(ids)-1]
		ids = ids[:len(ids)-1]
		r, ok := s.rec[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		for _, p := range r.prev {
			if h, held := s.known.holder(p); held && s.known.flag(p)&flagApplied == 0 && !slices.Contains(out, h) {
				out = append(out, h)
			}
			ids = append(ids, p)
		}
	}
	return out
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
// depend on applied, forgotten or released), of events no longer applied, and of events
// out of the frontier that neither a frontier event nor a recorded one names (review 14):
// an applied event without a record names them, kept nowhere once it left the frontier
// (or applied out of it), so Retract would refuse them; with them go the recorded events
// only they name, and those only they made provisional. A state written before review 14
// with full records of a chain that left the frontier unrecorded is emptied so at its
// first key event. The frontier and its prev sets are the schedule's new ones.
func (s *Schedule) pruneRecords() {
	for changed := len(s.rec) > 0; changed; {
		changed = false
		named := make(map[ID]bool, len(s.frontier)+len(s.rec))
		for _, f := range s.frontier {
			for _, p := range s.prev[f] {
				named[p] = true
			}
		}
		for _, r := range s.rec {
			for _, p := range r.prev {
				named[p] = true
			}
		}
		for id, r := range s.rec {
			if s.known.flag(id)&flagApplied == 0 || !s.pending(r.prev) || !named[id] && !s.frontier.Contains(id) {
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
