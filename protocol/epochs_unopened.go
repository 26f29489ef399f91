// Key schedule v2: a member's key event sealed under an epoch other than its prev's tells
// us its author lacked a seed of that prev, and so never opened the concurrent key events
// sealed under another epoch than its own (spec "Rekeys", "A key event its author could
// not open": fix 34; each event's own sealing epoch, coverage.Outer: fix 34b).

package protocol

import (
	"github.com/chorus-im/chorus/epoch"
)

// lackedPrevSeed records what a member's key event kb, just applied (fresh) and sealed
// under the epoch outer, not its prev's (the caller checked: sealedOther, EID derived once
// per key event), tells about its author: a rekey is sealed
// under its author's epoch of its prev (rekeyOuter), or the one before departed authors'
// events; sealed under another, its author lacked a seed of its prev (it refused one, or
// never opened the block) and sealed under an older live epoch. A key event concurrent
// with kb in our frontier sealed under an epoch that is not outer was then sealed under an
// epoch its author may never have held: it never opened that event's block, whatever slot
// the block gave it (review 26,
// TestReview26RefusedHealFailsRestart/restart-second-event: c's rekey K, prev the refused
// B, sealed under B's epoch; v's heal, prev {B}, sealed under the epoch before B). That
// event's coverage then leaves out kb's author: a coverage gap (strong: it stands aside),
// which the designated installation's heal closes with a Welcome (rekeyWelcomeV2), as for
// a member added concurrently. The epoch a concurrent event was sealed under is its own
// (coverage.Outer, recorded when it is not its prev's epoch: sealedOther), not its prev's:
// members refusing one made-up seed B all heal with prev {B} sealed under the epoch before
// B, the one kb's author sealed under too, and so opened each other's heals; judged by
// their prev's epoch (B's) each such heal took every other healer out of its coverage, and
// every crossing heal cost a heal with a Welcome more (fix 34b,
// TestKeyConfirmAmplification: 7-12 heals for 3 bad blocks, bound 6). An entry without
// Outer (stored before, or an event applied from a Welcome) counts as sealed under its
// prev's epoch. Only coverage is taken away (never given): no seed, no
// epoch and no installation gains anything; the block was checked (signature, authority,
// membership) before it was applied, and nothing here runs for a block not applied fresh.
func (m *epochMeta) lackedPrevSeed(s *epoch.Schedule, kb *epoch.KeyBlock, author InstallationID, outer epoch.ID) {
	if outer == (epoch.ID{}) || len(kb.Prev) == 0 || !s.InFrontier(kb.Event) {
		return
	}
	group := s.Group()
	var rest epoch.Frontier // the prev without departed authors' events (rekeyOuter's first choice)
	for _, id := range kb.Prev {
		if cv := m.Covered[id.String()]; cv == nil || !cv.Departed {
			rest = append(rest, id)
		}
	}
	if len(rest) > 0 && len(rest) < len(kb.Prev) {
		if eid, err := epoch.EpochID(group, rest); err == nil && eid == outer {
			return
		}
	}
	for _, id := range s.Frontier() {
		if id == kb.Event {
			continue
		}
		k := id.String()
		cv := m.Covered[k]
		if cv == nil || cv.Departed || cv.Author == author {
			continue
		}
		if sealedUnder(group, s.Prev(id), cv) == outer.String() {
			continue // sealed under the epoch kb's author sealed under: it opened it
		}
		next := *cv // entries are replaced, never modified (clone shares them)
		next.enc = nil
		if !next.upgradeHints() {
			continue
		}
		h := next.hinter(id)
		hint := h.Hint(epoch.Installation(author))
		if !next.Hints.has(hint) {
			continue
		}
		next.Hints = next.Hints.without(hint)
		m.Covered[k] = &next
	}
}

// without returns the set l without hint h (a new list; l is not modified).
func (l hintList) without(h [epoch.HintSize]byte) hintList {
	out := make(hintList, 0, len(l))
	for i := range l.len() {
		if [epoch.HintSize]byte(l.at(i)) != h {
			out = append(out, l.at(i)...)
		}
	}
	return out
}

// sealedOther returns the epoch outer (hex) a key event of prev was sealed under when it
// is not prev's epoch, else "" (coverage.Outer: also "" when outer is not known).
func sealedOther(group epoch.ID, prev epoch.Frontier, outer epoch.ID) string {
	if outer == (epoch.ID{}) || len(prev) == 0 {
		return ""
	}
	if eid, err := epoch.EpochID(group, prev); err == nil && eid == outer {
		return ""
	}
	return outer.String()
}

// sealedUnder returns the epoch (hex) the key event of prev whose coverage is cv was
// sealed under: cv.Outer, else its prev's epoch ("" if none).
func sealedUnder(group epoch.ID, prev epoch.Frontier, cv *coverage) string {
	if cv.Outer != "" {
		return cv.Outer
	}
	if len(prev) == 0 {
		return ""
	}
	eid, err := epoch.EpochID(group, prev)
	if err != nil {
		return ""
	}
	return eid.String()
}
