package epoch

import (
	"fmt"
	"slices"
)

// AuthorSize is the size of an Author.
const AuthorSize = 16

// Author names whoever vouches for the key event ids a schedule holds on its word only
// (spec "Frontier", held ids): the author of the first applied key event naming an unseen
// id, the sender of a Welcome whose join entries were never seen in a key block. The
// engine uses its account (protocol: the first 16 bytes of SHA-256 of the account id), so
// that an account's installations share one budget.
type Author [AuthorSize]byte

// heldID is a known id held on the word of an author (flagHeld set in its flags).
type heldID struct {
	id      ID
	by      Author
	applied bool // a Welcome's entry (an unseen id's hold ends when it is applied)
}

// ApplyKnown applies a key event received in its key block (its author signed it; by is
// that author): as Apply, but the prev ids the schedule does not know are recorded only as
// held on by's word (unseen ids attributed to by): while by holds at most
// MaxUnseenPerAuthor ids and every author together at most MaxUnseenPrev. Beyond that the
// event is refused with ErrUnknownPrev, the schedule unchanged, and the caller holds it
// until those events are applied (then their ids are known). An event naming only known
// ids is never refused for this, and one author's ids never refuse another author's
// events short of the group-wide bound. Applying the event releases the hold on its own id
// (it was unseen, or applied from a Welcome: ApplyWelcomed). Issue 13 security, review 3:
// a member's rekeys naming made-up prev ids filled MaxKnownEvents and froze the schedule;
// with one group-wide bound (session 5) they still made every later event naming an id
// that never arrived wait for good.
func (s *Schedule) ApplyKnown(ev Event, by Author) error { return s.applyHeld(ev, by, false) }

// ApplyWelcomed applies a join entry of a member's Welcome sent by by: as ApplyKnown, and
// the entry's own id is held on by's word too (counted against by) until its key block is
// seen (Seen, or ApplyKnown of the same event before it). Past the bounds ErrUnknownPrev:
// the Welcome waits. Issue 13 security: a member's ~2 100 pairwise Welcomes of 31 made-up
// entries filled MaxKnownEvents at their recipient.
func (s *Schedule) ApplyWelcomed(ev Event, by Author) error { return s.applyHeld(ev, by, true) }

func (s *Schedule) applyHeld(ev Event, by Author, welcomed bool) error {
	var hold []ID
	if ev.Prev.valid() && !ev.Prev.Contains(ev.ID) && s.known.flag(ev.ID)&flagApplied == 0 {
		mine, fresh := 0, 0 // ids newly held by by; ids newly known
		for _, p := range ev.Prev {
			if !s.known.has(p) {
				hold = append(hold, p)
				mine++
				fresh++
			}
		}
		if welcomed {
			hold = append(hold, ev.ID)
			if h, ok := s.known.holder(ev.ID); !ok || h != by {
				mine++
			}
			if !s.known.has(ev.ID) {
				fresh++
			}
		}
		if mine > 0 {
			held, total := s.known.heldCounts(by)
			if held+mine > MaxUnseenPerAuthor || total+fresh > MaxUnseenPrev {
				return fmt.Errorf("%w: %s would hold %d more ids on its author's word (%d held by it, %d by all)",
					ErrUnknownPrev, ev.ID, mine, held, total)
			}
		}
	}
	return s.apply(ev, hold, by)
}

// Seen records that applied key event id was seen in its key block: the hold of the
// Welcome sender that vouched for it alone is released. It reports whether the schedule
// changed (the caller stores it then).
func (s *Schedule) Seen(id ID) bool {
	if s.known.flag(id)&(flagApplied|flagHeld) != flagApplied|flagHeld {
		return false
	}
	s.known = s.known.release(id)
	return true
}

// SeenPrev is Seen for a key block of applied event ev.ID whose author by signed prev
// ev.Prev. An event applied from a member's Welcome (held on its sender's word) took the
// entry's prev set, which its sender chose: what the signed prev names and the entry's
// did not is superseded now (the ids the schedule does not know are held on by's word,
// within ApplyKnown's bounds: past them ErrUnknownPrev, the schedule unchanged, and the
// block waits as one naming unknown ids), so the frontier is the one the event's own
// prev gives, in whatever order entry, block and later events came (review 5: a Welcome
// giving a real key event an empty prev kept the events it superseded in the recipient's
// frontier for good). What only the entry's prev named stays superseded (not recorded
// which event named it): the next key event of another member supersedes it anyway. The
// event's recorded prev (Prev) is the signed one from then on.
// An event not held (applied from its own block) is not changed by another block.
// It reports whether the schedule changed (the caller stores it then).
func (s *Schedule) SeenPrev(ev Event, by Author) (bool, error) {
	if s.known.flag(ev.ID)&(flagApplied|flagHeld) != flagApplied|flagHeld {
		return false, nil
	}
	if !ev.Prev.valid() || ev.Prev.Contains(ev.ID) {
		return false, fmt.Errorf("%w: prev of %s not canonical or naming the event itself", ErrMalformed, ev.ID)
	}
	if err := s.notRetracted(ev); err != nil {
		return false, err
	}
	var hold []ID // ids named only now, held on by's word
	for _, p := range ev.Prev {
		if !s.known.has(p) {
			hold = append(hold, p)
		}
	}
	if len(hold) > 0 {
		held, total := s.known.heldCounts(by)
		if held+len(hold) > MaxUnseenPerAuthor || total+len(hold) > MaxUnseenPrev {
			return false, fmt.Errorf("%w: %s's block would hold %d more ids on its author's word (%d held by it, %d by all)",
				ErrUnknownPrev, ev.ID, len(hold), held, total)
		}
		if len(s.known.ids)+len(hold) > MaxKnownEvents {
			return false, fmt.Errorf("%w: %d known", ErrTooManyEvents, len(s.known.ids))
		}
	}
	next := make(Frontier, 0, len(s.frontier))
	for _, f := range s.frontier {
		if !ev.Prev.Contains(f) {
			next = append(next, f)
		}
	}
	if len(next) == 0 { // the prev names what superseded the event: a cycle
		return false, fmt.Errorf("%w: prev of %s names the whole frontier after it", ErrMalformed, ev.ID)
	}
	s.known = s.known.applied(ev) // the prev superseded, ev.ID's hold released
	if len(hold) > 0 {
		s.known = s.known.hold(hold, by)
	}
	changed := !next.Equal(s.frontier)
	s.frontier = next
	if next.Contains(ev.ID) {
		// The signed prev replaces the entry's: it is what our joins carry and what a
		// Welcome naming the event is checked against (review 6, TestSeenPrevRecordsSignedPrev:
		// the entry's stayed for good, and honest Welcomes naming the event were refused).
		s.prev[ev.ID] = ev.Prev.clone()
	}
	s.reprev(ev, by)
	s.dropLeft(next)
	for id, m := range s.material {
		if !next.Contains(id) || (changed && m.kind == hasContribution) {
			clear(m.v[:])
			delete(s.material, id)
		}
	}
	return true, nil
}

// RefuseHeld records that this installation refuses key event id (its own check refused
// the id's key block) when an applied event named it first: id, known as named as prev and
// never applied, is held on the word of whoever named it (ApplyKnown, ApplyWelcomed); the
// hold is released and id is known as Refuse gives had it come before the naming event
// (superseded, never applied, an unseen id held on no one's word), so that the order of
// the refusal and the naming event does not change the outcome. It reports whether the
// schedule changed (the caller stores it then). An id not known (Refuse records it),
// applied, retracted or held on no one's word is left alone. The unseen count is
// unchanged: the id stays within MaxUnseenPrev, out of its namer's MaxUnseenPerAuthor.
// The records of events provisional only for the hold are dropped (pruneRecords: id
// leaves every record's roots, and a record goes with its last root): in the other order
// the naming event named a refused id, not a held one, and got no root from it (review 24,
// TestReview24RefuseHeldRecordOutlivesHold: a record kept while its prev named another
// recorded event outlived the hold it was made for; TestReview24RefuseHeldOrderProperty).
// The caller's refusal is what vouches for the release: only an id whose key block this
// installation met and refused itself may be passed (protocol: a member's membership key
// event whose membership event applied, refused as uncommitted), never an id a block or
// Welcome merely names (review 23, TestReview23RefusedHeldHealFirst: the heal naming a
// refused event came before its block, and the id stayed held on the healer's word).
func (s *Schedule) RefuseHeld(id ID) bool {
	if s.known.flag(id)&(flagApplied|flagSuperseded|flagHeld|flagRetracted) != flagSuperseded|flagHeld {
		return false
	}
	s.known = s.known.release(id)
	s.pruneRecords() // an event provisional for id alone is not any more, as after Refuse
	return true
}

// Unconfirmed returns the frontier events applied from a member's Welcome whose key block
// was not seen since: their prev sets are their Welcome's sender's word until then (SeenPrev).
func (s *Schedule) Unconfirmed() []ID {
	var out []ID
	for _, id := range s.frontier {
		if s.known.flag(id)&flagHeld != 0 {
			out = append(out, id)
		}
	}
	return out
}

// Held returns how many key event ids the schedule holds on by's word.
func (s *Schedule) Held(by Author) int {
	n, _ := s.known.heldCounts(by)
	return n
}

// HeldAll returns how many key event ids the schedule holds on some author's word.
func (s *Schedule) HeldAll() int { return len(s.known.held) }

// holder returns the author holding id, if any.
func (k knownSet) holder(id ID) (Author, bool) {
	i, ok := slices.BinarySearchFunc(k.held, id, func(h heldID, id ID) int { return cmpID(h.id, id) })
	if !ok {
		return Author{}, false
	}
	return k.held[i].by, true
}

// heldCounts returns the ids held on by's word and the ids the group-wide bound counts:
// every unseen id (attributed or not: named by a newcomer's join, an older state, Refuse)
// and every applied id still held.
func (k knownSet) heldCounts(by Author) (mine, total int) {
	total = k.unseen
	for _, h := range k.held {
		if h.by == by {
			mine++
		}
		if h.applied {
			total++
		}
	}
	return mine, total
}

// hold returns k with ids (all known) held on by's word, replacing any earlier holder
// (k is not modified).
func (k knownSet) hold(ids []ID, by Author) knownSet {
	ids = slices.SortedFunc(slices.Values(ids), cmpID)
	out := knownSet{ids: k.ids, flags: slices.Clone(k.flags), unseen: k.unseen,
		held: make([]heldID, 0, len(k.held)+len(ids))}
	rest := k.held
	for _, id := range ids {
		i, found := slices.BinarySearchFunc(rest, id, func(h heldID, id ID) int { return cmpID(h.id, id) })
		out.held = append(out.held, rest[:i]...)
		if found {
			i++ // replaced
		}
		rest = rest[i:]
		j, _ := slices.BinarySearchFunc(k.ids, id, cmpID)
		out.flags[j] |= flagHeld
		out.held = append(out.held, heldID{id: id, by: by, applied: out.flags[j]&flagApplied != 0})
	}
	out.held = append(out.held, rest...)
	return out
}

// release returns k without the hold on id (k is not modified).
func (k knownSet) release(id ID) knownSet {
	out := knownSet{ids: k.ids, flags: slices.Clone(k.flags), unseen: k.unseen, held: k.held}
	out.dropHold(id)
	return out
}

// dropHold clears id's hold in k, whose flags the caller owns (the held slice is rebuilt).
func (k *knownSet) dropHold(id ID) {
	i, ok := slices.BinarySearchFunc(k.ids, id, cmpID)
	if !ok || k.flags[i]&flagHeld == 0 {
		return
	}
	k.flags[i] &^= flagHeld
	k.held = slices.DeleteFunc(slices.Clone(k.held), func(h heldID) bool { return h.id == id })
}
