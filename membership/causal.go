package membership

import (
	"bytes"
	"container/heap"
	"slices"
	"unicode/utf8"
)

// The causal rules (ChorusRules for a group whose CHAT_CREATED carries version =
// RulesCausal; spec/README.md, membership › Chorus causal rules, whose rule numbers the
// comments below use). Events name their parents; an event is judged against the state of
// its causal past (the events it descends from), so its clock decides nothing but the order
// of concurrent events; concurrent removals and promotions are resolved by rules C1-C3.

// cstate is the part of a group state the causal rules evaluate.
type cstate struct {
	members, admins          *orderedSet
	name, color, description string
	image                    []byte
	lastClock                uint64
}

func (s *cstate) clone() *cstate {
	c := *s
	c.members, c.admins = s.members.clone(), s.admins.clone()
	return &c
}

func (s *orderedSet) clone() *orderedSet {
	s.own(0)
	c := &orderedSet{items: slices.Clone(s.items)}
	if s.m != nil {
		c.m = make(map[string]struct{}, len(s.m))
		for k := range s.m {
			c.m[k] = struct{}{}
		}
	}
	return c
}

// bitset is a set of kept-event indices.
type bitset []uint64

func (b bitset) has(i int) bool { return i>>6 < len(b) && b[i>>6]&(1<<(uint(i)&63)) != 0 }

func (b *bitset) set(i int) {
	for i>>6 >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[i>>6] |= 1 << (uint(i) & 63)
}

func (b *bitset) or(o bitset) {
	for len(*b) < len(o) {
		*b = append(*b, 0)
	}
	for i, w := range o {
		(*b)[i] |= w
	}
}

// kept is an event that is valid against the state of its causal past.
type kept struct {
	ev      *Event
	id      EventID
	parents []int  // kept indices
	anc     bitset // strict ancestors (kept indices)
	child   bool   // some kept event names it as a parent
}

// causal holds one derivation.
type causal struct {
	kept []kept
	// threats: kept indices of MEMBER_REMOVED events by target, ADMIN_REMOVED events by
	// author, ADMINS_ADDED events by target.
	removals, demotions, promotions map[string][]int
	byAuthor                        map[string][]int // kept events by author
	added                           map[string]bool  // targets of kept MEMBERS_ADDED events
	first                           int              // kept indices below are roots (their effect is the start state)
	heldReach                       bitset           // held twins none of whose twins is needed, set before the final fold (twinReaches)
}

// mayAct is a shortcut of rule 2 that needs no state: the author of a valid event is the
// creator or the target of a kept MEMBERS_ADDED, and one of an admin action the creator or
// the target of a kept ADMINS_ADDED (every event of a causal past is kept before it).
func (c *causal) mayAct(ev *Event, creator string) bool {
	if ev.from == creator {
		return true
	}
	if !c.added[ev.from] {
		return false
	}
	switch ev.Type {
	case MemberRemoved:
		return ev.Members.Len() == 1 && (ev.Members.Key(0) == ev.from || len(c.promotions[ev.from]) > 0)
	case MemberJoined, ChatCreated:
		return false
	}
	return len(c.promotions[ev.from]) > 0
}

func (c *causal) concurrent(a, b int) bool {
	return a != b && !c.kept[a].anc.has(b) && !c.kept[b].anc.has(a)
}

// downSet is a down-closed set of kept events: all of them, or the strict ancestors of
// one (anc).
type downSet struct {
	all bool
	anc bitset
}

func (d downSet) has(j int) bool { return d.all || d.anc.has(j) }

// mutual is rule C3: removal r of t by a is concurrent with a removal of a by t.
func (c *causal) mutual(r int, d downSet) bool {
	ev := c.kept[r].ev
	t := ev.Members.Key(0)
	for _, q := range c.removals[ev.from] {
		if d.has(q) && c.kept[q].ev.from == t && t != ev.from && c.concurrent(q, r) {
			return true
		}
	}
	return false
}

// threats appends to buf the kept events of the down-set d that threaten kept event e
// (rules C1-C3; each is concurrent with e).
func (c *causal) threats(e int, d downSet, buf []int) []int {
	ev := c.kept[e].ev
	for _, r := range c.removals[ev.from] { // C1: its author's removal or leave
		if !d.has(r) || !c.concurrent(r, e) {
			continue
		}
		rem := c.kept[r].ev
		if ev.Type == MemberRemoved && ev.Members.Key(0) == rem.from && rem.from != ev.from {
			continue // C3: removals of each other do not threaten each other
		}
		if rem.from == ev.from && sameEffect(rem, ev) {
			continue // twins (two leaves of one author) never threaten each other (rule 1)
		}
		if c.twinReaches(r, e, d) {
			continue
		}
		buf = append(buf, r)
	}
	if needsAdmin(ev) { // C1: an admin action and its author's step-down
		for _, r := range c.demotions[ev.from] {
			if d.has(r) && c.concurrent(r, e) && !c.twinReaches(r, e, d) {
				buf = append(buf, r)
			}
		}
	}
	if ev.Type == MemberRemoved { // C2: a promotion of the removed member, unless C3
		t := ev.Members.Key(0)
		if ps := c.promotions[t]; len(ps) > 0 && t != ev.from && !c.mutual(e, d) {
			for _, p := range ps {
				if d.has(p) && c.concurrent(p, e) && !c.twinReaches(p, e, d) {
					buf = append(buf, p)
				}
			}
		}
	}
	return buf
}

// overriddenIn returns the kept events of the down-set d (below upto) that are not applied
// (rule 3): those with a threat in d whose grounded label (threatGraph.grounded) is not
// applied. Events with no threat (and the roots) are applied.
func (c *causal) overriddenIn(d downSet, upto int) bitset {
	var g threatGraph
	for j := c.first; j < upto; j++ {
		if !d.has(j) {
			continue
		}
		n := len(g.threats)
		g.threats = c.threats(j, d, g.threats)
		if len(g.threats) > n {
			g.events = append(g.events, j)
			g.off = append(g.off, n)
		}
	}
	return g.grounded()
}

// threatGraph holds the contested events of a down-set (those with a threat) and their
// threats: events[i] (kept indices, distinct) is threatened by threats[off[i]:off[i+1]]
// (the last one by threats[off[i]:]). A threat that is not itself contested has no threat.
type threatGraph struct {
	events  []int
	off     []int
	threats []int
}

func (g *threatGraph) threatsOf(i int) []int {
	if i+1 < len(g.off) {
		return g.threats[g.off[i]:g.off[i+1]]
	}
	return g.threats[g.off[i]:]
}

// Rule 3's labels of a contested event (threatGraph.grounded).
const (
	labelUndecided = iota
	labelApplied
	labelDefeated
)

// grounded returns the contested events that are not applied under rule 3's grounded
// semantics — applied iff every threat is defeated, defeated iff some threat is applied, the
// rest (cycles of threats nothing outside decides) undecided; an event with no threat is
// applied — as a bitset of kept indices. Computed by a worklist in O(events + threats),
// whatever the order of the events: per contested event the count of its threats not yet
// defeated, and reverse edges (whom each event threatens); the events with no threat are
// decided first (applied); an event decided applied defeats every undecided event it
// threatens, one decided defeated decrements their counts, and a count reaching zero applies
// that event. Every event is decided (queued) at most once and every threat edge is looked at
// once when its threatening event is decided. This is the least fixed point that repeated
// passes reach (Knaster–Tarski), in one pass over the edges.
func (g *threatGraph) grounded() bitset {
	var out bitset
	ne := len(g.events)
	if ne == 0 {
		return out
	}
	// node: kept index -> node number + 1 (0: none); contested events are nodes 0..ne-1,
	// their uncontested threats (applied, no threat) the nodes after.
	top := 0
	for _, e := range g.events {
		top = max(top, e)
	}
	for _, t := range g.threats {
		top = max(top, t)
	}
	node := make([]int32, top+1)
	for i, e := range g.events {
		node[e] = int32(i + 1)
	}
	n := ne
	for _, t := range g.threats {
		if node[t] == 0 {
			n++
			node[t] = int32(n)
		}
	}
	// Reverse edges, grouped by threatening node: rev[start[v]:start[v+1]] are the
	// contested events v threatens (once per edge).
	start := make([]int32, n+1)
	for _, t := range g.threats {
		start[node[t]]++ // start[v+1] counts node v's edges (node[t] = v+1)
	}
	for v := 1; v <= n; v++ {
		start[v] += start[v-1]
	}
	rev := make([]int32, len(g.threats))
	fill := slices.Clone(start[:n])
	left := make([]int32, ne) // threats not yet defeated
	for i := range ne {
		ts := g.threatsOf(i)
		left[i] = int32(len(ts))
		for _, t := range ts {
			v := node[t] - 1
			rev[fill[v]] = int32(i)
			fill[v]++
		}
	}
	label := make([]uint8, n)
	queue := make([]int32, 0, n)
	for v := ne; v < n; v++ {
		label[v] = labelApplied
		queue = append(queue, int32(v))
	}
	for q := 0; q < len(queue); q++ {
		v := queue[q]
		for _, x := range rev[start[v]:start[v+1]] {
			if label[x] != labelUndecided {
				continue
			}
			if label[v] == labelApplied {
				label[x] = labelDefeated
				queue = append(queue, x)
			} else if left[x]--; left[x] == 0 {
				label[x] = labelApplied
				queue = append(queue, x)
			}
		}
	}
	for i, e := range g.events {
		if label[i] != labelApplied {
			out.set(e)
		}
	}
	return out
}

func needsAdmin(ev *Event) bool {
	switch ev.Type {
	case MemberRemoved:
		return ev.Members.Key(0) != ev.from
	case AdminRemoved:
		return false
	}
	return true
}

// fold computes the state of the kept events in d (in kept order) from the genesis state.
func (c *causal) fold(g *cstate, d downSet, upto int, applied func(j int, ok bool)) *cstate {
	s := g.clone()
	out := c.overriddenIn(d, upto)
	for j := c.first; j < upto; j++ {
		if !d.has(j) {
			continue
		}
		ok := !out.has(j)
		if ok {
			s.apply(c.kept[j].ev)
		}
		if applied != nil {
			applied(j, ok)
		}
	}
	return s
}

// apply is an event's effect. Effects are guarded so that concurrent events compose:
// promoting a member that left meanwhile promotes nobody.
func (s *cstate) apply(ev *Event) {
	switch ev.Type {
	case NameChanged:
		s.name = ev.Name
	case ColorChanged:
		s.color = ev.Color
	case ImageChanged:
		s.image = ev.Image
	case DescriptionChanged:
		s.description = ev.Description
	case MembersAdded:
		s.members.add(ev.Members.keyList()...)
	case MemberRemoved:
		s.members.remove(ev.Members.Key(0))
		s.admins.remove(ev.Members.Key(0))
	case AdminsAdded:
		for _, m := range ev.Members.each() {
			if s.members.has(m) {
				s.admins.add(m)
			}
		}
	case AdminRemoved:
		s.admins.remove(ev.from)
	}
	s.lastClock = max(s.lastClock, ev.Clock)
}

// valid is rule 2: ev is valid against s, the state of its causal past, and changes it.
func (s *cstate) valid(ev *Event, keys *keyChecker) bool {
	if !s.members.has(ev.from) {
		return false
	}
	admin := s.admins.has(ev.from)
	switch ev.Type {
	case NameChanged:
		return admin && ev.Name != "" && ev.Name != s.name
	case ColorChanged:
		return admin && ev.Color != "" && ev.Color != s.color
	case ImageChanged:
		return admin && !bytes.Equal(ev.Image, s.image)
	case DescriptionChanged:
		return admin && utf8.ValidString(ev.Description) && ev.Description != s.description
	case MembersAdded:
		if !admin || ev.Members.Len() == 0 {
			return false
		}
		for i, m := range ev.Members.each() {
			if s.members.has(m) || ev.Members.indexKey(m) < i || !keys.canonical(m) {
				return false
			}
		}
		return true
	case MemberRemoved:
		if ev.Members.Len() != 1 {
			return false
		}
		t := ev.Members.Key(0)
		return s.members.has(t) && (t == ev.from || (admin && !s.admins.has(t)))
	case AdminsAdded:
		if !admin || ev.Members.Len() == 0 {
			return false
		}
		for i, m := range ev.Members.each() {
			if !s.members.has(m) || s.admins.has(m) || ev.Members.indexKey(m) < i {
				return false
			}
		}
		return true
	case AdminRemoved:
		return ev.Members.Len() == 1 && ev.Members.Key(0) == ev.from && admin
	}
	return false // MEMBER_JOINED (changes nothing), a second CHAT_CREATED, unknown types
}

// intHeap is a min-heap of entry indices (entries are sorted by (clock, H), so the
// smallest index is the next event of the deterministic topological order).
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// deriveCausal derives a causal group from its verified, de-duplicated entries sorted by
// (clock, H), entries[genesis] being its CHAT_CREATED.
func deriveCausal(chatID string, entries []chorusEntry, genesis int) State {
	g := &entries[genesis].ev
	gs := &cstate{members: newOrderedSet(), admins: newOrderedSet(), name: g.Name, color: g.Color,
		description: g.Description, image: g.Image, lastClock: g.Clock}
	gs.members.add(g.from)
	gs.admins.add(g.from)
	s := causalFrom(entries, []int{genesis}, gs, g.from)
	s.ChatID, s.Creator = chatID, g.From
	return s
}

// causalFrom runs the causal rules over entries (verified, de-duplicated, sorted by
// (clock, H)) from roots: the genesis alone, or a snapshot's carried events (based.go).
// The roots are kept first, in topological order, and their effect is gs, the state they
// lead to; every other event is judged from there. With a snapshot (more than the genesis
// can be a root, or the root is not a CHAT_CREATED), an event whose causal past does not
// hold every root that no root names as a parent (the snapshot's heads) cannot be judged
// without the events before the snapshot: it waits (pending), and so does every event that
// descends from it.
func causalFrom(entries []chorusEntry, roots []int, gs *cstate, creator string) State {
	n := len(entries)
	byID := make(map[EventID]int, n)
	for i := range entries {
		byID[EventID(entries[i].order)] = i
	}
	const (
		waiting = iota
		discarded
		keptState
		stuck // based: its causal past misses a snapshot head (waits, as pending)
	)
	isRoot := make([]bool, n)
	for _, r := range roots {
		isRoot[r] = true
	}
	based := len(roots) != 1 || entries[roots[0]].ev.Type != ChatCreated || len(entries[roots[0]].ev.Parents) != 0
	status := make([]int, n)
	keptOf := make([]int, n)
	indeg := make([]int, n)
	children := make([][]int, n)
	var h intHeap
	for i := range entries {
		ev := &entries[i].ev
		if isRoot[i] {
			// A root waits only for the roots it names (its other parents precede the
			// snapshot).
			for _, p := range ev.Parents {
				if j, ok := byID[p]; ok && j != i && isRoot[j] {
					indeg[i]++
					children[j] = append(children[j], i)
				}
			}
			if indeg[i] == 0 {
				heap.Push(&h, i)
			}
			continue
		}
		if entries[i].bad || len(ev.Parents) == 0 {
			// Malformed causal fields, or no parents (a v1 event, a second CHAT_CREATED):
			// discarded, and so is every event that descends from it.
			status[i] = discarded
			heap.Push(&h, i)
			continue
		}
		for _, p := range ev.Parents {
			j, ok := byID[p]
			if !ok || j == i {
				indeg[i]++ // never satisfied: the event waits (pending)
				continue
			}
			indeg[i]++
			children[j] = append(children[j], i)
		}
	}
	c := &causal{removals: map[string][]int{}, demotions: map[string][]int{}, promotions: map[string][]int{},
		byAuthor: map[string][]int{}, added: map[string]bool{}, first: len(roots)}
	var keys keyChecker
	var heads []int // based: the roots no root names (entry indices)
	if based {
		named := make([]bool, n)
		for _, r := range roots {
			for _, ch := range children[r] {
				named[r] = named[r] || isRoot[ch]
			}
		}
		for _, r := range roots {
			if !named[r] {
				heads = append(heads, r)
			}
		}
	}
	lastK, lastAfter := -1, (*cstate)(nil) // the state after the last kept event (a chain)
	twins := false                         // two kept events are twins (rule 1)
	popped := make([]bool, n)
	for h.Len() > 0 {
		i := heap.Pop(&h).(int)
		popped[i] = true
		for _, ch := range children[i] {
			if indeg[ch]--; indeg[ch] == 0 {
				heap.Push(&h, ch)
			}
		}
		if status[i] == discarded {
			continue
		}
		ev := &entries[i].ev
		var parents []int
		var anc bitset
		if !isRoot[i] {
			for _, p := range ev.Parents {
				j := byID[p]
				if status[j] == stuck {
					status[i] = stuck
					break
				}
				if status[j] != keptState {
					status[i] = discarded
					break
				}
				parents = append(parents, keptOf[j])
			}
			if status[i] == stuck {
				continue
			}
			if status[i] == discarded || !based && !c.mayAct(ev, creator) {
				status[i] = discarded
				continue
			}
			slices.Sort(parents)
			parents = slices.Compact(parents)
			for _, p := range parents {
				anc.or(c.kept[p].anc)
				anc.set(p)
			}
			if based && slices.ContainsFunc(heads, func(r int) bool { return status[r] != keptState || !anc.has(keptOf[r]) }) {
				status[i] = stuck
				continue
			}
			var base *cstate
			if len(parents) == 1 && parents[0] == lastK {
				base = lastAfter
			} else {
				base = c.fold(gs, downSet{anc: anc}, len(c.kept), nil)
			}
			if !base.valid(ev, &keys) {
				status[i] = discarded
				continue
			}
			// Keeping ignores twins (rule 1); one is seen here when it is kept after its twin.
			twins = twins || c.twin(ev, anc)
			base.apply(ev)
			lastAfter = base
		} else {
			for _, p := range ev.Parents {
				if j, ok := byID[p]; ok && j != i && isRoot[j] {
					parents = append(parents, keptOf[j])
				}
			}
			slices.Sort(parents)
			parents = slices.Compact(parents)
			for _, p := range parents {
				anc.or(c.kept[p].anc)
				anc.set(p)
			}
			lastAfter = gs.clone()
		}
		status[i] = keptState
		k := len(c.kept)
		keptOf[i] = k
		lastK = k
		c.kept = append(c.kept, kept{ev: ev, id: EventID(entries[i].order), parents: parents, anc: anc})
		for _, p := range parents {
			c.kept[p].child = true
		}
		c.byAuthor[ev.from] = append(c.byAuthor[ev.from], k)
		switch ev.Type {
		case MembersAdded:
			for _, m := range ev.Members.each() {
				c.added[m] = true
			}
		case MemberRemoved:
			c.removals[ev.Members.Key(0)] = append(c.removals[ev.Members.Key(0)], k)
		case AdminRemoved:
			c.demotions[ev.from] = append(c.demotions[ev.from], k)
		case AdminsAdded:
			for _, m := range ev.Members.each() {
				c.promotions[m] = append(c.promotions[m], k)
			}
		}
	}

	// Rule 1: among twins the held ones are pending. They are in no kept event's causal
	// past, so the final state is the fold of the kept events without them (the same as a
	// second pass with them forced to wait); only needed when two kept events are twins.
	all := downSet{all: true}
	var held bitset
	if twins {
		held = c.heldTwins()
		c.heldReach = c.reachingHeld(held)
		all = downSet{}
		for j := range c.kept {
			if !held.has(j) {
				all.anc.set(j)
			}
		}
	}
	s := State{Version: RulesCausal}
	for j := 0; j < len(roots) && j < len(c.kept); j++ {
		s.Events = append(s.Events, *c.kept[j].ev)
	}
	final := c.fold(gs, all, len(c.kept), func(j int, ok bool) {
		if ok {
			s.Events = append(s.Events, *c.kept[j].ev)
		} else {
			s.Overridden = append(s.Overridden, *c.kept[j].ev)
		}
	})
	s.Name, s.Color, s.Description, s.Image = final.name, final.color, final.description, final.image
	s.Members, s.Admins, s.LastClock = membersOwn(final.members.list()), hexesOf(final.admins.items), final.lastClock
	// Heads: the kept events not held that no kept event outside the held ones names. A twin
	// needed only by held events is a head (review 30, TestReview30OrphanedTwin): it would
	// otherwise be in no head's past, concurrent with every later event for good (a
	// promotion so orphaned shields its target from every removal, C2), and the incremental
	// path's premise (every kept event a head or an ancestor of one) would not hold.
	var live bitset
	if twins {
		for j := range c.kept {
			if !held.has(j) {
				for _, p := range c.kept[j].parents {
					live.set(p)
				}
			}
		}
	}
	for j := range c.kept {
		child := c.kept[j].child
		if twins {
			child = live.has(j)
		}
		if !child && !held.has(j) {
			s.Heads = append(s.Heads, c.kept[j].id)
		}
	}
	slices.SortFunc(s.Heads, func(a, b EventID) int { return bytes.Compare(a[:], b[:]) })
	for i := range entries {
		if !popped[i] && status[i] == waiting || status[i] == stuck || status[i] == keptState && held.has(keptOf[i]) {
			s.Pending = append(s.Pending, entries[i].ev)
		}
	}
	return s
}
