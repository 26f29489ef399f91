package epoch

import (
	"fmt"
	"slices"
)

// Origin returns the origin (author, nonce, heads) the schedule keeps for frontier rekey id;
// ok is false when it keeps none (not in the frontier, not a rekey, a legacy id). Heads is
// the schedule's own: not to be modified.
func (s *Schedule) Origin(id ID) (RekeyOrigin, bool) {
	o, ok := s.origin[id]
	return o, ok
}

// Retract takes frontier event id back out of the schedule: a rekey applied on its
// author's word that was later found not to be valid (spec "Authority", retraction: a
// departed author's rekey met before its departure). by is the author whose word it was
// applied on (ApplyKnown). The frontier loses id; each prev id it named that no other
// frontier event names, never applied and held on by's word (id, or an earlier event of
// by's, named it first) is forgotten, as if id had never been applied, so that the event,
// when it comes, enters the frontier; a prev held otherwise stays superseded (another
// event named it first). id stays known as superseded and not applied (as Refuse records
// it: a member that applied it names it as prev without being held for it). Its seed and
// every contribution (computed for the old frontier) are deleted; live epochs are not
// touched (an epoch computed with id is not derived again). next is the prev of the
// event the caller applies right after the retraction (nil: none): an applied prev id
// that next names needs no restoring, next supersedes it again (review 12,
// TestReview12RetractBypassedByOldFrontier: a departed author's rekey naming the frontier
// before its leave beside the heal was never retracted). Errors, the schedule
// unchanged: ErrSuperseded (id not in the frontier), ErrMismatch (a prev id no other
// frontier event names and next does not name was applied: its prev set and seed are not
// kept, so the frontier before id cannot be restored).
func (s *Schedule) Retract(id ID, by Author, next Frontier) error {
	if !s.frontier.Contains(id) {
		return fmt.Errorf("%w: %s", ErrSuperseded, id)
	}
	var drop, orphan []ID // unseen prev ids named only by id; held on by's word, named by others too
	for _, p := range s.prev[id] {
		named := false
		for f, fp := range s.prev {
			if f != id && fp.Contains(p) {
				named = true
				break
			}
		}
		h, held := s.known.holder(p)
		held = held && (h == by || h == retractedHold)
		if named {
			if held && h == by {
				orphan = append(orphan, p)
			}
			continue
		}
		if s.known.flag(p)&flagApplied != 0 {
			if next.Contains(p) {
				continue // superseded again by the event applied next
			}
			return fmt.Errorf("%w: prev %s of %s was applied: the frontier before it is not kept", ErrMismatch, p, id)
		}
		if held {
			drop = append(drop, p)
		}
	}
	s.known = s.known.retracted(id, drop, orphan)
	s.frontier = slices.DeleteFunc(slices.Clone(s.frontier), func(f ID) bool { return f == id })
	s.dropLeft(s.frontier)
	for k, m := range s.material {
		if k == id || m.kind == hasContribution {
			clear(m.v[:])
			delete(s.material, k)
		}
	}
	return nil
}

// retractedHold is the author of a hold whose author's rekey was retracted while another
// frontier event still named the id (Retract's orphans): a later retraction of that
// event forgets the id as it would forget one held on its own author's word (review 12,
// TestReview12RetractTwoAuthorsSameHeal: two departed authors' rekeys naming one heal,
// both retracted, left the heal held on the first one's word, so the heal, applied,
// superseded its prev and never entered: an empty frontier). An engine's authors are
// hashes (protocol: SHA-256 of the account id), never zero.
var retractedHold Author

// retracted returns k with id flagged superseded and not applied (its hold released),
// the ids of drop (superseded, not applied) forgotten with their holds and the holds of
// orphan given to retractedHold (k is not modified).
func (k knownSet) retracted(id ID, drop, orphan []ID) knownSet {
	out := knownSet{ids: make([]ID, 0, len(k.ids)), flags: make([]byte, 0, len(k.ids)), unseen: k.unseen}
	for i, x := range k.ids {
		fl := k.flags[i]
		switch {
		case slices.Contains(drop, x):
			out.unseen--
			continue
		case x == id:
			fl = flagSuperseded
			out.unseen++
		}
		out.ids, out.flags = append(out.ids, x), append(out.flags, fl)
	}
	for _, h := range k.held {
		if h.id != id && !slices.Contains(drop, h.id) {
			if slices.Contains(orphan, h.id) {
				h.by = retractedHold
			}
			out.held = append(out.held, h)
		}
	}
	return out
}
