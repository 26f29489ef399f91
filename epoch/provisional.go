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
// dropped): the prev set it was applied with, its origin, and its roots. Never written once
// made (replaced).
type undoRecord struct {
	prev   Frontier
	origin *RekeyOrigin
	// roots are the unseen ids held on an author's word the event is provisional for,
	// ascending, fixed when the record is made (rootsOf) and only shrinking after: an id
	// leaves them once it is no longer held unseen (applied: replaced by its own record's
	// roots, resolveRoot; released, forgotten). The record goes with its last root.
	roots []ID
}

// noteProvisional records applied event ev, applied on by's word (zero: Apply, our own),
// if it is provisional (it has roots: rootsOf), within MaxProvisional; resolves ev.ID as a
// root of the records made while it was unseen (namer: who held it then, resolveRoot); and
// drops the records no longer needed (pruneRecords). Review 12 (Known limits (2),
// TestReview12RetractChainedRekey, TestReview12RetractedRekeyDescendant): a departed
// author's second rekey RX2 over RX, or a member's own rekey K over RX, took RX out of
// the frontier with its prev set, so that RX, named by nothing in the frontier, was never
// retracted when the heal it named came, and the member stayed on an epoch the group
// never had.
func (s *Schedule) noteProvisional(ev Event, by, namer Author) {
	if _, ok := s.rec[ev.ID]; !ok {
		s.record(ev, by)
	}
	s.resolveRoot(ev.ID, namer)
	s.pruneRecords()
}

// record makes ev's record if it has roots, within MaxProvisional.
func (s *Schedule) record(ev Event, by Author) {
	roots := s.rootsOf(ev.Prev, by)
	if len(roots) == 0 || len(s.rec) >= MaxProvisional {
		return
	}
	r := undoRecord{prev: ev.Prev.clone(), roots: roots}
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

// reprev gives applied event ev.ID the prev set its signed block names (SeenPrev) and
// judges it again as an event applied with that prev on by's word (by: the block's
// author): recorded with the roots that prev gives, or not recorded. The records of the
// events applied over it keep the roots they were made with.
func (s *Schedule) reprev(ev Event, by Author) {
	var o *RekeyOrigin
	if r, ok := s.rec[ev.ID]; ok {
		o = r.origin
		delete(s.rec, ev.ID)
	} else if x, ok := s.origin[ev.ID]; ok {
		o = &x
	}
	s.record(Event{ID: ev.ID, Prev: ev.Prev, Rekey: o}, by)
	s.pruneRecords()
}

// liveRoot reports whether id is an unseen id held on some author's word: a root.
func (s *Schedule) liveRoot(id ID) bool { return s.known.flag(id)&(flagApplied|flagHeld) == flagHeld }

// rootsOf returns the roots of an event applied on by's word with prev set prev (review 14,
// TestReview14RecordsPoisoned, TestReview14ConcurrentAddFillsRecords: with every
// provisional event recorded, one id never met — a made-up prev, the removal an added
// member never opens — made every later key event of the group provisional, each naming a
// frontier descended from a recorded one, and the records were full for good after 32
// ordinary key events): the unseen ids held on some author's word that prev names, and the
// roots of the recorded events prev names that are held on by's word (the departed
// author's next rekey over its own: RX2 over RX), or all of them if by is zero (our own
// event: K over RX). A member's event over another author's recorded one gets none from
// it: what it names can no longer be retracted once it leaves the frontier (pruneRecords).
// Review 24 (TestReview24RefuseHeldRecordOutlivesHold): a record kept while its prev named
// a recorded event, whatever made it, outlived the hold it was made for (RefuseHeld).
func (s *Schedule) rootsOf(prev Frontier, by Author) []ID {
	var out []ID
	for _, p := range prev {
		if s.liveRoot(p) {
			out = append(out, p)
		} else if r, ok := s.rec[p]; ok {
			out = s.appendRoots(out, r.roots, by)
		}
	}
	slices.SortFunc(out, cmpID)
	return slices.Compact(out)
}

// appendRoots appends the live ids of roots held on by's word (every one if by is zero).
func (s *Schedule) appendRoots(out, roots []ID, by Author) []ID {
	for _, x := range roots {
		if !s.liveRoot(x) {
			continue
		}
		if h, _ := s.known.holder(x); by == (Author{}) || h == by {
			out = append(out, x)
		}
	}
	return out
}

// resolveRoot replaces root id, just applied (held on namer's word until then), in the
// records that have it by the roots of id's own record held on namer's word, as if id
// had been applied before them (the departed author's next rekey met before the rekey it
// names: RX2 then RX).
func (s *Schedule) resolveRoot(id ID, namer Author) {
	var with []ID
	if r, ok := s.rec[id]; ok {
		with = r.roots
	}
	for e, r := range s.rec {
		if _, ok := slices.BinarySearchFunc(r.roots, id, cmpID); !ok {
			continue
		}
		roots := s.appendRoots(slices.DeleteFunc(slices.Clone(r.roots), func(x ID) bool { return x == id }), with, namer)
		slices.SortFunc(roots, cmpID)
		s.rec[e] = undoRecord{prev: r.prev, origin: r.origin, roots: slices.Compact(roots)}
	}
}

// pending reports whether prev names an unseen id held on an author's word or a recorded
// event (the records of a state stored before fix27, which have no roots: readRecords).
func (s *Schedule) pending(prev Frontier) bool {
	for _, p := range prev {
		if s.liveRoot(p) {
			return true
		}
		if _, ok := s.rec[p]; ok {
			return true
		}
	}
	return false
}

// pruneRecords drops the records of events no longer provisional (none of their roots
// still held unseen: applied, forgotten or released — RefuseHeld), of events no longer
// applied, and of events out of the frontier that neither a frontier event nor a recorded
// one names (review 14): an applied event without a record names them, kept nowhere once
// it left the frontier (or applied out of it), so Retract would refuse them; with them go
// the recorded events only they name. A record out of the frontier that only recorded
// events name keeps only the roots it shares with them (fix27): what keeps it is their
// records, which go with those roots — a record made for other roots (a member's event
// over another author's recorded one that names a held id of its own) does not keep it,
// as it would not had that event been applied without a record (review 24: such a
// record, made only for a hold RefuseHeld then released, kept the event it named, and
// what was applied over that event meanwhile, which the other order had dropped). A
// state written before review 14 with full records of a chain that left the frontier
// unrecorded is emptied so at its first key event. The frontier and its prev sets are the
// schedule's new ones. The roots dropped leave the records.
func (s *Schedule) pruneRecords() {
	for changed := len(s.rec) > 0; changed; {
		changed = false
		kept := make(map[ID]bool, len(s.frontier)) // named by a frontier event
		for _, f := range s.frontier {
			for _, p := range s.prev[f] {
				kept[p] = true
			}
		}
		shared := make(map[ID][]ID, len(s.rec)) // out of the frontier: the roots of the records naming it
		for _, r := range s.rec {
			for _, p := range r.prev {
				if _, ok := s.rec[p]; ok && !kept[p] && !s.frontier.Contains(p) {
					shared[p] = append(shared[p], r.roots...)
				}
			}
		}
		for id, r := range s.rec {
			full := kept[id] || s.frontier.Contains(id)
			drop := func(x ID) bool { return !s.liveRoot(x) || !full && !slices.Contains(shared[id], x) }
			live := r.roots
			if slices.ContainsFunc(r.roots, drop) {
				live = slices.DeleteFunc(slices.Clone(r.roots), drop)
			}
			if s.known.flag(id)&flagApplied == 0 || len(live) == 0 {
				delete(s.rec, id)
				changed = true
			} else if len(live) < len(r.roots) {
				s.rec[id] = undoRecord{prev: r.prev, origin: r.origin, roots: live}
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

// appendRecords appends the records (written only when there are some; version 4 without
// records: a count of 0): a count, then per record, by ascending id, the id, its prev set
// and its origin, and in version 5 its roots: a u16 count (≥ 1), then each root's u16
// index among the known ids, ascending.
func (s *Schedule) appendRecords(b []byte, ver byte) []byte {
	ids := s.Recorded()
	b = append(b, byte(len(ids)))
	for _, id := range ids {
		r := s.rec[id]
		b = appendIDs(append(b, id[:]...), r.prev)
		b = appendOrigin(b, r.origin)
		if ver >= stateVersion {
			b = append(b, byte(len(r.roots)>>8), byte(len(r.roots)))
			for _, x := range r.roots {
				i, _ := slices.BinarySearchFunc(s.known.ids, x, cmpID)
				b = append(b, byte(i>>8), byte(i))
			}
		}
	}
	return b
}

// readRecords reads the records of a state of version ver into n, whose known ids and
// frontier are decoded: strict (ids ascending, at most MaxProvisional, each applied and
// provisional, its prev marked superseded and a frontier event's the same as its
// entry's, its origin matching its id; version 5: its roots ascending, each an unseen id
// held on an author's word, at least one). A record of version 3 or 4 (before fix27) has
// no roots: it is given every root it reaches through the records (as our own event's).
func (n *Schedule) readRecords(r *reader, ver byte) error {
	c := int(r.u8())
	if r.err == nil && (c == 0 && ver != stateVersionRetracted || c > MaxProvisional) { // version 4: 0 allowed
		return fmt.Errorf("%w: %d records", ErrMalformed, c)
	}
	var last ID
	for i := 0; i < c && r.err == nil; i++ {
		id, prev := r.id(), r.ids()
		o, ok := readOrigin(r)
		var roots []ID
		if ver >= stateVersion {
			k := int(r.u16())
			if r.err == nil && (k == 0 || 2*k > r.left()) {
				return fmt.Errorf("%w: record %d with %d roots", ErrMalformed, i, k)
			}
			roots = make([]ID, 0, k)
			at := -1
			for j := 0; j < k && r.err == nil; j++ {
				x := int(r.u16())
				if r.err == nil && (x <= at || x >= len(n.known.ids) || !n.liveRoot(n.known.ids[x])) {
					return fmt.Errorf("%w: record %d: root %d not canonical", ErrMalformed, i, j)
				}
				at = x
				if r.err == nil {
					roots = append(roots, n.known.ids[x])
				}
			}
		}
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
		n.rec[id] = undoRecord{prev: prev, origin: o, roots: roots}
		last = id
	}
	if r.err != nil {
		return r.err
	}
	if ver >= stateVersion {
		return nil
	}
	for id, rec := range n.rec {
		if !n.pending(rec.prev) {
			return fmt.Errorf("%w: record of %s not provisional", ErrMalformed, id)
		}
	}
	old := make(map[ID][]ID, len(n.rec))
	for id := range n.rec {
		old[id] = n.reach(id)
	}
	for id, roots := range old {
		if rec := n.rec[id]; len(roots) > 0 {
			n.rec[id] = undoRecord{prev: rec.prev, origin: rec.origin, roots: roots}
		} else {
			delete(n.rec, id) // recorded events naming each other, no root (a cycle of prev)
		}
	}
	if len(n.rec) == 0 {
		n.rec = nil
	}
	return nil
}

// reach returns the roots recorded event id reaches through the records' prev sets,
// ascending (a record of a state before fix27).
func (n *Schedule) reach(id ID) []ID {
	var out []ID
	seen := map[ID]bool{}
	for todo := []ID{id}; len(todo) > 0; {
		e := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		r, ok := n.rec[e]
		if !ok || seen[e] {
			continue
		}
		seen[e] = true
		for _, p := range r.prev {
			if n.liveRoot(p) {
				out = append(out, p)
			}
			todo = append(todo, p)
		}
	}
	slices.SortFunc(out, cmpID)
	return slices.Compact(out)
}
