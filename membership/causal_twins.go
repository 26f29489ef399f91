// Causal rule 1's twins (an author's concurrent events with the same effect): which are
// held, and how far a twin reaches in rule 3 (spec › "Chorus causal rules").

package membership

import "bytes"

// twin reports whether ev has a twin (rule 1) among the kept events so far: a kept event by
// the same author with the same effect outside ev's causal past anc.
func (c *causal) twin(ev *Event, anc bitset) bool {
	for _, k := range c.byAuthor[ev.from] {
		if !anc.has(k) && sameEffect(c.kept[k].ev, ev) {
			return true
		}
	}
	return false
}

// sameEffect: a and b have the same type and content (members, name, color, description,
// image); two kept events by the same author with the same effect are twins when
// concurrent (rule 1).
func sameEffect(a, b *Event) bool {
	return a.Type == b.Type && a.Members.Equal(b.Members) && a.Name == b.Name && a.Color == b.Color &&
		a.Description == b.Description && bytes.Equal(a.Image, b.Image)
}

// isTwin: kept events a and b are twins (rule 1).
func (c *causal) isTwin(a, b int) bool {
	return c.kept[a].ev.from == c.kept[b].ev.from && c.concurrent(a, b) && sameEffect(c.kept[a].ev, c.kept[b].ev)
}

// heldTwins is rule 1's choice among twins, over the kept events (indices from c.first, in
// T order): an event is needed when a kept event names it (kept.child); one that is not
// needed is held when it has a twin that is not held and is needed or earlier in T. Held
// events are pending: not applied, threatening nothing, no heads. A held event has no kept
// child, so it is in no kept event's causal past and holding it changes no other event's
// keptness (judged in the causal past): a function of the kept set alone.
func (c *causal) heldTwins() bitset {
	var held bitset
	for k := c.first; k < len(c.kept); k++ {
		if c.kept[k].child {
			continue
		}
		for _, o := range c.byAuthor[c.kept[k].ev.from] {
			if o >= c.first && !held.has(o) && (c.kept[o].child || o < k) && c.isTwin(o, k) {
				held.set(k)
				break
			}
		}
	}
	return held
}

// reachingHeld returns the held twins that count in twinReaches: those none of whose twins
// is needed. A held twin of a needed event does not (review 31,
// TestReview31HeldTwinDisarms: dave's removal of bob A, overridden by dave's concurrent
// leave L that alice named; dave, gone, signs a leave twin L' after A — held, L being
// needed — and would otherwise stop L threatening A, so that A applied: a departed author
// reviving its overridden action by a copy no one named). When no twin is needed, the held
// one counts (review 30's window: the original leave L1, unneeded and held, keeps its
// backdated copy L2, first in T, from reaching back over the add L1 came after).
func (c *causal) reachingHeld(held bitset) bitset {
	var out bitset
	for k := c.first; k < len(c.kept); k++ {
		if !held.has(k) {
			continue
		}
		needed := false
		for _, o := range c.byAuthor[c.kept[k].ev.from] {
			if o != k && c.kept[o].child && c.isTwin(o, k) {
				needed = true
				break
			}
		}
		if !needed {
			out.set(k)
		}
	}
	return out
}

// twinReaches reports whether a twin of r in d has e in its causal past or is in e's (is
// not concurrent with it): r then does not threaten e (rule 3: a twin threatens only what
// every twin of it in the set threatens). An author's copy of its own event, signed with
// an older past, so reaches no further back than the original: a backdated leave twin does
// not override its author's add that the original leave came after (review 30,
// TestReview30HeldTwinPassesGate), nor a backdated promotion twin shield its target from a
// removal made after the original promotion. A held twin counts too while none of its
// twins is needed (reachingHeld; it is in no kept event's past, so only the final fold
// sees it): a backdated leave twin that comes first in T, the original unneeded and held,
// reaches no further back either.
func (c *causal) twinReaches(r, e int, d downSet) bool {
	ev := c.kept[r].ev
	for _, o := range c.byAuthor[ev.from] {
		if o != r && o != e && (d.has(o) || c.heldReach.has(o)) && !c.concurrent(o, e) && c.concurrent(o, r) && sameEffect(c.kept[o].ev, ev) {
			return true
		}
	}
	return false
}
