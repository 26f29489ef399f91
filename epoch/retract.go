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

// Retract takes applied event id back out of the schedule: a rekey applied on its
// author's word that was later found not to be valid (spec "Authority", retraction: a
// departed author's rekey met before its departure), in the frontier or recorded
// (provisional.go), with every frontier or recorded event whose prev names a retracted id,
// recursively (its descendants: the author's next rekey over it, a member's rekey over it;
// review 12, TestReview12RetractChainedRekey, TestReview12RetractedRekeyDescendant). by is
// the author whose word id was applied on (ApplyKnown). The retracted events leave the
// frontier and their records; each prev id they named that no other frontier or recorded
// event names, never applied and held on by's word (a retracted event, or an earlier event
// of by's, named it first) is forgotten, as if they had never been applied, so that the
// event, when it comes, enters the frontier; a prev held otherwise stays superseded
// (another event named it first). The retracted ids stay known as superseded, not
// applied and flagged retracted: an event naming one, or one of them again, is refused
// from then on (ErrRetracted; review 14, TestReview14RekeyOverRetracted: the departed
// author's rekey over its retracted one was applied here only). Their seeds and every
// contribution (computed for the old frontier) are deleted, and the live epochs computed
// with them that the schedule can name are retired (dropLiveWith). next is the prev of the event the caller applies right after the retraction
// (nil: none): an applied prev id that next names needs no restoring, next supersedes it
// again (review 12, TestReview12RetractBypassedByOldFrontier: a departed author's rekey
// naming the frontier before its leave beside the heal was never retracted). It returns
// the retracted ids, ascending. Errors, the schedule unchanged: ErrSuperseded (id neither
// in the frontier nor recorded), ErrMismatch (a prev id no other frontier or recorded
// event names and next does not name was applied: its prev set and seed are not kept, so
// the frontier before id cannot be restored; or a retracted event is named by an applied
// event kept nowhere, past MaxProvisional records).
func (s *Schedule) Retract(id ID, by Author, next Frontier) ([]ID, error) {
	_, recorded := s.rec[id]
	if !s.frontier.Contains(id) && !recorded {
		return nil, fmt.Errorf("%w: %s", ErrSuperseded, id)
	}
	// The events a retraction may reach, with their prev sets.
	prevOf := make(map[ID]Frontier, len(s.frontier)+len(s.rec))
	for e, r := range s.rec {
		prevOf[e] = r.prev
	}
	for _, f := range s.frontier {
		prevOf[f] = s.prev[f]
	}
	gone := []ID{id}
	for grown := true; grown; {
		grown = false
		for e, p := range prevOf {
			if !slices.Contains(gone, e) && slices.ContainsFunc(p, func(q ID) bool { return slices.Contains(gone, q) }) {
				gone = append(gone, e)
				grown = true
			}
		}
	}
	slices.SortFunc(gone, cmpID)
	for _, g := range gone {
		// Superseded by no retracted event: an applied event the schedule keeps nothing of
		// (past MaxProvisional) names it, and would stay, descended from it.
		if s.known.flag(g)&flagSuperseded != 0 && !slices.ContainsFunc(gone, func(r ID) bool { return prevOf[r].Contains(g) }) {
			return nil, fmt.Errorf("%w: %s is named by an event not recorded", ErrMismatch, g)
		}
	}
	var drop, orphan []ID // unseen prev ids named only by gone; held on by's word, named by others too
	for _, r := range gone {
		for _, p := range prevOf[r] {
			if slices.Contains(gone, p) || slices.Contains(drop, p) || slices.Contains(orphan, p) {
				continue
			}
			named := false
			for f, fp := range prevOf {
				if !slices.Contains(gone, f) && fp.Contains(p) {
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
				return nil, fmt.Errorf("%w: prev %s of %s was applied: the frontier before it is not kept", ErrMismatch, p, r)
			}
			if held {
				drop = append(drop, p)
			}
		}
	}
	s.dropLiveWith(gone)
	s.known = s.known.retracted(gone, drop, orphan)
	s.frontier = slices.DeleteFunc(slices.Clone(s.frontier), func(f ID) bool { return slices.Contains(gone, f) })
	s.dropLeft(s.frontier)
	for _, r := range gone {
		delete(s.rec, r)
	}
	s.pruneRecords()
	for k, m := range s.material {
		if slices.Contains(gone, k) || m.kind == hasContribution {
			clear(m.v[:])
			delete(s.material, k)
		}
	}
	return gone, nil
}

// retractedHold is the author of a hold whose author's rekey was retracted while another
// frontier event still named the id (Retract's orphans): a later retraction of that
// event forgets the id as it would forget one held on its own author's word (review 12,
// TestReview12RetractTwoAuthorsSameHeal: two departed authors' rekeys naming one heal,
// both retracted, left the heal held on the first one's word, so the heal, applied,
// superseded its prev and never entered: an empty frontier). An engine's authors are
// hashes (protocol: SHA-256 of the account id), never zero.
var retractedHold Author

// retracted returns k with the ids of gone flagged superseded and not applied (their holds
// released), the ids of drop (superseded, not applied) forgotten with their holds and the
// holds of orphan given to retractedHold (k is not modified).
func (k knownSet) retracted(gone, drop, orphan []ID) knownSet {
	out := knownSet{ids: make([]ID, 0, len(k.ids)), flags: make([]byte, 0, len(k.ids)), unseen: k.unseen}
	for i, x := range k.ids {
		fl := k.flags[i]
		switch {
		case slices.Contains(drop, x):
			out.unseen--
			continue
		case slices.Contains(gone, x): // applied (frontier or recorded)
			fl = flagSuperseded | flagRetracted
			out.unseen++
		}
		out.ids, out.flags = append(out.ids, x), append(out.flags, fl)
	}
	for _, h := range k.held {
		if !slices.Contains(gone, h.id) && !slices.Contains(drop, h.id) {
			if slices.Contains(orphan, h.id) {
				h.by = retractedHold
			}
			out.held = append(out.held, h)
		}
	}
	return out
}

// Retracted reports whether key event id was retracted (Retract): an event naming it, or
// it again, is refused (ErrRetracted).
func (s *Schedule) Retracted(id ID) bool { return s.known.flag(id)&flagRetracted != 0 }

// notRetracted refuses ev (ErrRetracted) if it is a retracted event or its prev names one:
// what a retraction would have taken with it had it come before (review 14,
// TestReview14RekeyOverRetracted: a departed author's rekey over its retracted rekey was
// applied by the member that had retracted it, by no other).
func (s *Schedule) notRetracted(ev Event) error {
	if s.Retracted(ev.ID) {
		return fmt.Errorf("%w: %s was retracted", ErrRetracted, ev.ID)
	}
	for _, p := range ev.Prev {
		if s.Retracted(p) {
			return fmt.Errorf("%w: prev of %s names retracted %s", ErrRetracted, ev.ID, p)
		}
	}
	return nil
}

// dropLiveWith retires the live epochs computed with a retracted event of gone, as far as
// the schedule can tell which they are: the epoch of the current frontier, and of each
// retracted event beside the frontier events that are not retracted (a chain RX, RX2 over
// it: the epoch of {RX}; an older epoch computed with one beside events superseded since
// stays until it is retired). Review 14: the member kept opening what the departed author
// sealed under the epoch of its retracted rekey.
func (s *Schedule) dropLiveWith(gone []ID) {
	if len(s.live) == 0 {
		return
	}
	rest := slices.DeleteFunc(slices.Clone(s.frontier), func(f ID) bool { return slices.Contains(gone, f) })
	drop := []ID{epochID(s.group, s.frontier)}
	for _, g := range gone {
		f := append(slices.Clone(rest), g)
		slices.SortFunc(f, cmpID)
		drop = append(drop, epochID(s.group, f))
	}
	for _, e := range drop {
		s.Retire(e)
	}
}
