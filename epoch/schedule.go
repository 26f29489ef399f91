package epoch

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Flags of a known key event id.
const (
	flagApplied    = 0x01 // the event was applied
	flagSuperseded = 0x02 // an applied event names it as prev
	flagHeld       = 0x04 // held on an author's word (held.go); the author follows in the encoding
	flagRetracted  = 0x08 // taken back by Retract (with flagSuperseded alone): no event may name it
)

// Material kinds held for a frontier event.
const (
	hasSeed         = 0x01
	hasContribution = 0x02
)

// Event is a key event as the schedule sees it: its id and the prev set its author named
// (the author's frontier when authoring; empty for creation), and for a rekey whose id
// commits to its prev (RekeyID) its author and nonce, which the schedule keeps while the
// event is in its frontier (JoinFor writes them; nil: a membership key event, a rekey with
// a legacy id). Apply does not check them against the id: the caller does (a parsed key
// block or join has).
type Event struct {
	ID    ID
	Prev  Frontier
	Rekey *RekeyOrigin
}

type material struct {
	kind byte
	v    [IDSize]byte // the seed, or the contribution for the current frontier
}

// Schedule is the key-schedule state of one group at one installation. The zero value is
// not usable; call NewSchedule.
type Schedule struct {
	group    ID
	known    knownSet
	frontier Frontier
	prev     map[ID]Frontier    // prev sets of the frontier events
	origin   map[ID]RekeyOrigin // authors and nonces of the frontier rekeys whose ids commit to their prev (nil: none)
	material map[ID]material
	live     []Epoch           // oldest first
	rec      map[ID]undoRecord // the provisional events' prev sets and origins (provisional.go; nil: none)
}

// NewSchedule returns an empty schedule for group (no key event applied yet).
func NewSchedule(group ID) *Schedule {
	return &Schedule{group: group, prev: map[ID]Frontier{}, material: map[ID]material{}}
}

// Heads returns the membership heads frontier rekey id named (spec "Authority") and its
// author; ok is false when the schedule holds none for it: not in the frontier, not a
// rekey, or a rekey that named none (a block of a version before BlockVersion, a join of
// one). heads is the schedule's own: not to be modified.
func (s *Schedule) Heads(id ID) (heads Frontier, author Installation, ok bool) {
	o, ok := s.origin[id]
	if !ok || !o.Headed {
		return nil, Installation{}, false
	}
	return o.Heads, o.Author, true
}

// Prev returns the prev set of frontier event id (nil if id is not in the frontier).
func (s *Schedule) Prev(id ID) Frontier { return s.prev[id].clone() }

func (f Frontier) clone() Frontier {
	if f == nil {
		return nil
	}
	return slices.Clone(f)
}

// Group returns the group id the schedule belongs to.
func (s *Schedule) Group() ID { return s.group }

// Frontier returns a copy of the current frontier: the applied key events no applied event
// names as prev, ascending.
func (s *Schedule) Frontier() Frontier { return slices.Clone(s.frontier) }

// InFrontier reports whether id is in the current frontier (Frontier().Contains without
// the copy: asked several times per key event received).
func (s *Schedule) InFrontier(id ID) bool { return s.frontier.Contains(id) }

// Known returns how many key event ids the schedule remembers (applied or named as prev).
func (s *Schedule) Known() int { return len(s.known.ids) }

// Applied reports whether the key event id was applied.
func (s *Schedule) Applied(id ID) bool { return s.known.flag(id)&flagApplied != 0 }

// Superseded reports whether an applied key event names id as prev: id never enters the
// frontier (applied or not).
func (s *Schedule) Superseded(id ID) bool { return s.known.flag(id)&flagSuperseded != 0 }

// Apply applies a key event. The resulting frontier depends only on the set of events
// applied, not on their order (an id named as prev before it is applied never enters the
// frontier). Errors: ErrMalformed (prev not canonical or naming the event itself, or the
// event would leave the frontier empty: a cycle of prev, review 14),
// ErrDuplicate, ErrFrontierFull, ErrTooManyEvents; the schedule is then unchanged.
// Seeds and contributions of events that leave the frontier are deleted, and every stored
// contribution is deleted when the frontier changes (it was computed for the old one).
func (s *Schedule) Apply(ev Event) error { return s.apply(ev, nil, Author{}) }

// apply is Apply, the ids of hold (known once ev is applied) then held on by's word, and
// ev recorded if it is provisional (provisional.go).
func (s *Schedule) apply(ev Event, hold []ID, by Author) error {
	if !ev.Prev.valid() || ev.Prev.Contains(ev.ID) {
		return fmt.Errorf("%w: prev of %s not canonical or naming the event itself", ErrMalformed, ev.ID)
	}
	if s.known.flag(ev.ID)&flagApplied != 0 {
		return fmt.Errorf("%w: %s", ErrDuplicate, ev.ID)
	}
	if err := s.notRetracted(ev); err != nil {
		return err
	}
	added := 0
	if !s.known.has(ev.ID) {
		added++
	}
	for _, p := range ev.Prev {
		if !s.known.has(p) {
			added++
		}
	}
	if len(s.known.ids)+added > MaxKnownEvents {
		return fmt.Errorf("%w: %d known", ErrTooManyEvents, len(s.known.ids))
	}
	// New frontier: (frontier \ prev) ∪ {id unless superseded}.
	next := make(Frontier, 0, len(s.frontier)+1)
	for _, f := range s.frontier {
		if !ev.Prev.Contains(f) {
			next = append(next, f)
		}
	}
	if s.known.flag(ev.ID)&flagSuperseded == 0 {
		next = append(next, ev.ID)
	}
	slices.SortFunc(next, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	if len(next) > MaxFrontier {
		return fmt.Errorf("%w: %d events", ErrFrontierFull, len(next))
	}
	if len(next) == 0 {
		// Every applied event named by another: the applied set holds a cycle of prev
		// (ids that commit to no prev — a legacy rekey's, a membership key event's — let a
		// member name an event before making it; review 14, TestReview14PrevCycle). An
		// acyclic set always has a frontier event, so this refuses no honest event.
		return fmt.Errorf("%w: %s would leave the frontier empty (a cycle of prev)", ErrMalformed, ev.ID)
	}
	namer, _ := s.known.holder(ev.ID) // ev.ID a root of the records made while it was unseen
	s.known = s.known.applied(ev)
	if len(hold) > 0 {
		s.known = s.known.hold(hold, by)
	}
	changed := !next.Equal(s.frontier)
	s.frontier = next
	if next.Contains(ev.ID) {
		s.prev[ev.ID] = ev.Prev.clone()
		if ev.Rekey != nil {
			s.setOrigin(ev.ID, *ev.Rekey)
		}
	}
	s.noteProvisional(ev, by, namer) // after the frontier's prev sets: pruneRecords reads them
	s.dropLeft(next)
	for id, m := range s.material {
		if !next.Contains(id) || (changed && m.kind == hasContribution) {
			clear(m.v[:])
			delete(s.material, id)
		}
	}
	return nil
}

// setOrigin records frontier rekey id's origin (the map made on first use: most
// schedules decoded on a key event's path hold none).
func (s *Schedule) setOrigin(id ID, o RekeyOrigin) {
	if s.origin == nil {
		s.origin = map[ID]RekeyOrigin{}
	}
	s.origin[id] = o
}

// dropLeft deletes the prev sets and origins of the events not in frontier next.
func (s *Schedule) dropLeft(next Frontier) {
	for id := range s.prev {
		if !next.Contains(id) {
			delete(s.prev, id)
		}
	}
	for id := range s.origin {
		if !next.Contains(id) {
			delete(s.origin, id)
		}
	}
}

// Unseen returns how many key event ids the schedule remembers only as named as prev
// (never applied).
func (s *Schedule) Unseen() int { return s.known.unseen }

// Refuse records key event id, which this installation refuses (a rekey of an installation
// it knows is revoked) though members that applied it before learning of the revocation
// will name it as prev: id is remembered as superseded (it never enters the frontier), so
// that their later key events are not held for it (ApplyKnown). No-op if id is known (an
// id named first and held on its namer's word: RefuseHeld);
// ErrTooManyEvents if the set is full or MaxUnseenPrev ids are held (ApplyKnown).
func (s *Schedule) Refuse(id ID) error {
	if s.known.has(id) {
		return nil
	}
	if _, total := s.known.heldCounts(Author{}); len(s.known.ids) >= MaxKnownEvents || total >= MaxUnseenPrev {
		return fmt.Errorf("%w: %d known, %d held", ErrTooManyEvents, len(s.known.ids), total)
	}
	i, _ := slices.BinarySearchFunc(s.known.ids, id, cmpID)
	ids := make([]ID, 0, len(s.known.ids)+1)
	flags := make([]byte, 0, len(s.known.ids)+1)
	ids = append(append(append(ids, s.known.ids[:i]...), id), s.known.ids[i:]...)
	flags = append(append(append(flags, s.known.flags[:i]...), flagSuperseded), s.known.flags[i:]...)
	s.known = knownSet{ids: ids, flags: flags, unseen: s.known.unseen + 1, held: s.known.held}
	return nil
}

// knownSet is the set of key event ids a schedule knows (applied or named as prev), with
// their flags: ids ascending, flags in step. A schedule's slices are never written (Apply
// builds new ones), so clones share them: cloning a schedule copies nothing per known event
// and its encoding is written from them in order (issue 13: a map copied and looked up per
// known id — which grow by one per key event, up to MaxKnownEvents — cost ~45 µs a clone
// and ~120 µs an encoding at 1000 events, several clones per key event received).
type knownSet struct {
	ids    []ID
	flags  []byte
	unseen int      // ids flagged superseded and not applied
	held   []heldID // the ids flagged held, ascending, with their authors (held.go)
}

// anyRetracted reports whether some id is flagged retracted.
func (k knownSet) anyRetracted() bool {
	return slices.ContainsFunc(k.flags, func(f byte) bool { return f&flagRetracted != 0 })
}

func cmpID(a, b ID) int { return bytes.Compare(a[:], b[:]) }

func (k knownSet) has(id ID) bool {
	_, ok := slices.BinarySearchFunc(k.ids, id, cmpID)
	return ok
}

// flag returns id's flags (0 if id is not known).
func (k knownSet) flag(id ID) byte {
	if i, ok := slices.BinarySearchFunc(k.ids, id, cmpID); ok {
		return k.flags[i]
	}
	return 0
}

// applied returns a new set: k with the ids of ev added, ev.ID flagged applied (its hold
// released) and its prev events superseded (k is not modified).
func (k knownSet) applied(ev Event) knownSet {
	unseen := k.unseen
	fl := k.flag(ev.ID)
	if fl&(flagApplied|flagSuperseded) == flagSuperseded {
		unseen--
	}
	var add []ID
	if !k.has(ev.ID) {
		add = append(add, ev.ID)
	}
	for _, p := range ev.Prev {
		if !k.has(p) {
			add = append(add, p)
		}
	}
	slices.SortFunc(add, cmpID)
	add = slices.Compact(add)
	for _, id := range add {
		if id != ev.ID {
			unseen++
		}
	}
	if len(add) == 0 {
		out := knownSet{ids: k.ids, flags: slices.Clone(k.flags), unseen: unseen, held: k.held} // the ids shared: never written
		out.mark(ev)
		if fl&flagHeld != 0 {
			out.dropHold(ev.ID)
		}
		return out
	}
	out := knownSet{ids: make([]ID, 0, len(k.ids)+len(add)), flags: make([]byte, 0, len(k.ids)+len(add)), unseen: unseen, held: k.held}
	ids, flags := k.ids, k.flags
	for _, id := range add {
		i, _ := slices.BinarySearchFunc(ids, id, cmpID)
		out.ids, out.flags = append(append(out.ids, ids[:i]...), id), append(append(out.flags, flags[:i]...), 0)
		ids, flags = ids[i:], flags[i:]
	}
	out.ids, out.flags = append(out.ids, ids...), append(out.flags, flags...)
	out.mark(ev)
	if fl&flagHeld != 0 {
		out.dropHold(ev.ID)
	}
	return out
}

// mark flags ev.ID applied and its prev events superseded in k, whose flags the caller
// owns (all of ev's ids known).
func (k knownSet) mark(ev Event) {
	i, _ := slices.BinarySearchFunc(k.ids, ev.ID, cmpID)
	k.flags[i] |= flagApplied
	for _, p := range ev.Prev {
		i, _ := slices.BinarySearchFunc(k.ids, p, cmpID)
		k.flags[i] |= flagSuperseded
	}
}

// SetSeed stores the seed of a frontier event (from a key block slot, a Welcome or a seed
// resend). ErrSuperseded if id is not in the frontier (the seed is not needed: discard
// it). A seed replaces a contribution held for the same event; a second seed for an event
// that already has one must be identical (ErrMismatch otherwise, keeping the first).
func (s *Schedule) SetSeed(id ID, seed *Seed) error {
	if !s.frontier.Contains(id) {
		return fmt.Errorf("%w: %s", ErrSuperseded, id)
	}
	if m, ok := s.material[id]; ok && m.kind == hasSeed {
		if m.v != *seed {
			return fmt.Errorf("%w: a different seed for %s is held", ErrMismatch, id)
		}
		return nil
	}
	s.material[id] = material{kind: hasSeed, v: *seed}
	return nil
}

// SetContribution stores a forwarded contribution x_E(F) of frontier event id, computed for
// frontier f. ErrSuperseded if f is not the current frontier or id is not in it; a held
// seed makes the contribution unnecessary (no-op).
func (s *Schedule) SetContribution(id ID, f Frontier, x *ID) error {
	if !f.Equal(s.frontier) || !s.frontier.Contains(id) {
		return fmt.Errorf("%w: contribution of %s for another frontier", ErrSuperseded, id)
	}
	if m, ok := s.material[id]; ok && m.kind == hasSeed {
		return nil
	}
	s.material[id] = material{kind: hasContribution, v: *x}
	return nil
}

// Missing returns the frontier events for which neither a seed nor a contribution is held.
func (s *Schedule) Missing() []ID {
	var out []ID
	for _, id := range s.frontier {
		if _, ok := s.material[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// DropSeed forgets the held seed of frontier event id (a seed its author was caught giving
// out in two versions: key confirmation); the event is Missing again. It reports whether
// a seed was held.
func (s *Schedule) DropSeed(id ID) bool {
	m, ok := s.material[id]
	if !ok || m.kind != hasSeed {
		return false
	}
	clear(m.v[:])
	delete(s.material, id)
	return true
}

// HasSeed reports whether the seed of id is held (needed to forward or resend it).
func (s *Schedule) HasSeed(id ID) bool {
	m, ok := s.material[id]
	return ok && m.kind == hasSeed
}

// Seed returns the held seed of frontier event id (for a seed resend).
func (s *Schedule) Seed(id ID) (Seed, bool) {
	m, ok := s.material[id]
	if !ok || m.kind != hasSeed {
		return Seed{}, false
	}
	return Seed(m.v), true
}

// Forward returns the contribution x_E(F) of frontier event id for the current frontier F,
// to forward to an installation that lacks it; it needs the seed.
func (s *Schedule) Forward(id ID) (ID, Frontier, error) {
	m, ok := s.material[id]
	if !ok || m.kind != hasSeed {
		return ID{}, nil, fmt.Errorf("%w: no seed held for %s", ErrIncomplete, id)
	}
	eid := epochID(s.group, s.frontier)
	seed := Seed(m.v)
	return contribution(&seed, id, &eid), s.Frontier(), nil
}

// Current computes the epoch of the current frontier and records it as the newest live
// epoch (retiring the oldest beyond MaxLiveEpochs and wiping its secret). ErrIncomplete
// when a frontier event has neither seed nor contribution (see Missing) or nothing was
// applied yet.
func (s *Schedule) Current() (Epoch, error) {
	if len(s.frontier) == 0 {
		return Epoch{}, fmt.Errorf("%w: no key event applied", ErrIncomplete)
	}
	if miss := s.Missing(); len(miss) > 0 {
		return Epoch{}, fmt.Errorf("%w: %d of %d frontier events", ErrIncomplete, len(miss), len(s.frontier))
	}
	eid := epochID(s.group, s.frontier)
	if n := len(s.live); n > 0 && s.live[n-1].ID == eid {
		return s.live[n-1], nil
	}
	xs := make([]ID, len(s.frontier))
	for i, id := range s.frontier {
		m := s.material[id]
		if m.kind == hasSeed {
			seed := Seed(m.v)
			xs[i] = contribution(&seed, id, &eid)
			clear(seed[:])
		} else {
			xs[i] = m.v
		}
	}
	e := compose(&eid, xs)
	clear(xs)
	// An epoch seen before (the frontier came back? impossible: frontier events never return)
	// is moved to the newest place rather than duplicated.
	s.live = slices.DeleteFunc(s.live, func(l Epoch) bool { return l.ID == eid })
	s.live = append(s.live, e)
	if len(s.live) > MaxLiveEpochs {
		clear(s.live[0].Secret[:])
		s.live = slices.Delete(s.live, 0, 1)
	}
	return e, nil
}

// Live returns copies of the live epochs, oldest first.
func (s *Schedule) Live() []Epoch { return slices.Clone(s.live) }

// Retire deletes the live epoch id (for example after a grace period), wiping its secret.
func (s *Schedule) Retire(id ID) {
	s.live = slices.DeleteFunc(s.live, func(l Epoch) bool {
		if l.ID == id {
			clear(l.Secret[:])
			return true
		}
		return false
	})
}

// Clone returns a deep copy (to work on a copy and commit it on success).
func (s *Schedule) Clone() *Schedule {
	prev := make(map[ID]Frontier, len(s.prev))
	for id, p := range s.prev {
		prev[id] = p.clone()
	}
	return &Schedule{group: s.group, known: s.known, frontier: slices.Clone(s.frontier), prev: prev,
		origin: maps.Clone(s.origin), material: maps.Clone(s.material), live: slices.Clone(s.live),
		rec: maps.Clone(s.rec)} // a record is never written, only replaced
}

// stateMagic is the first byte of the state encoding ('E').
const (
	stateMagic            = 0x45
	stateVersion          = 5 // with records and their roots (provisional.go), retracted ids if any: written when there are records
	stateVersionRetracted = 4 // with retracted ids (retract.go), records without roots (fix27: written only without records)
	stateVersionRecords   = 3 // with records without roots (read only since fix27), no retracted id; 1 (before welid): no origins in its frontier entries
	stateVersionPlain     = 2 // without records or retracted ids (as before converge10)
)

// MarshalBinary encodes the schedule canonically (spec: "State").
func (s *Schedule) MarshalBinary() ([]byte, error) {
	ids, held := s.known.ids, s.known.held
	b := make([]byte, 0, 2+IDSize+4+len(ids)*(IDSize+1)+len(held)*AuthorSize+1+len(s.material)*(IDSize+1+IDSize)+1+len(s.live)*2*IDSize)
	ver := s.stateVersion()
	b = append(b, stateMagic, ver)
	b = append(b, s.group[:]...)
	b = append(b, byte(len(ids)>>24), byte(len(ids)>>16), byte(len(ids)>>8), byte(len(ids)))
	off := len(b)
	b = b[:off+len(ids)*(IDSize+1)+len(held)*AuthorSize] // within the capacity made above
	for i := range ids {
		copy(b[off:], ids[i][:])
		fl := s.known.flags[i]
		b[off+IDSize] = fl
		off += IDSize + 1
		if fl&flagHeld != 0 {
			copy(b[off:], held[0].by[:])
			held = held[1:]
			off += AuthorSize
		}
	}
	b = append(b, byte(len(s.frontier)))
	for _, id := range s.frontier {
		b = append(b, id[:]...)
		b = appendIDs(b, s.prev[id])
		if m, ok := s.material[id]; ok {
			b = append(append(b, m.kind), m.v[:]...)
		} else {
			b = append(b, 0)
		}
		if o, ok := s.origin[id]; ok {
			b = appendOrigin(b, &o)
		} else {
			b = appendOrigin(b, nil)
		}
	}
	b = append(b, byte(len(s.live)))
	for _, l := range s.live {
		b = append(append(b, l.ID[:]...), l.Secret[:]...)
	}
	if ver >= stateVersionRetracted {
		b = s.appendRecords(b, ver)
	}
	return b, nil
}

// stateVersion returns the state version s is written in: the lowest that holds it, so
// that a state without retracted ids is the bytes it was before they existed.
func (s *Schedule) stateVersion() byte {
	switch {
	case len(s.rec) > 0:
		return stateVersion
	case s.known.anyRetracted():
		return stateVersionRetracted
	}
	return stateVersionPlain
}

// UnmarshalBinary replaces the schedule with a decoded state. The decoder is strict
// (ErrMalformed, ErrUnsupportedVersion); on error the schedule is unchanged.
func (s *Schedule) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	magic, ver := r.u8(), r.u8()
	if r.err == nil && magic != stateMagic {
		return fmt.Errorf("%w: state magic %#x", ErrMalformed, magic)
	}
	if r.err == nil && (ver < 1 || ver > stateVersion) {
		return fmt.Errorf("%w: state version %d", ErrUnsupportedVersion, ver)
	}
	n := &Schedule{prev: map[ID]Frontier{}, material: map[ID]material{}}
	n.group = r.id()
	k := r.u32()
	if r.err == nil && (k > MaxKnownEvents || uint64(k)*(IDSize+1) > uint64(r.left())) {
		return fmt.Errorf("%w: %d known ids", ErrMalformed, k)
	}
	if r.err == nil {
		n.known = knownSet{ids: make([]ID, 0, k), flags: make([]byte, 0, k)}
	}
	var prev ID
	for i := uint32(0); i < k && r.err == nil; i++ {
		id, fl := r.id(), r.u8()
		var by Author
		if fl&flagHeld != 0 {
			copy(by[:], r.bytes(AuthorSize))
		}
		if r.err != nil {
			break
		}
		if (i > 0 && bytes.Compare(prev[:], id[:]) >= 0) || fl&(flagApplied|flagSuperseded) == 0 || fl&^(flagApplied|flagSuperseded|flagHeld|flagRetracted) != 0 ||
			fl&flagRetracted != 0 && (ver < stateVersionRetracted || fl != flagSuperseded|flagRetracted) {
			return fmt.Errorf("%w: known id %d not canonical", ErrMalformed, i)
		}
		n.known.ids, n.known.flags = append(n.known.ids, id), append(n.known.flags, fl)
		if fl&flagHeld != 0 {
			n.known.held = append(n.known.held, heldID{id: id, by: by, applied: fl&flagApplied != 0})
		}
		switch fl &^ (flagHeld | flagRetracted) {
		case flagSuperseded:
			n.known.unseen++
		case flagApplied:
			n.frontier = append(n.frontier, id)
		}
		prev = id
	}
	if len(n.frontier) > MaxFrontier {
		return fmt.Errorf("%w: frontier of %d", ErrMalformed, len(n.frontier))
	}
	f := int(r.u8())
	if r.err == nil && f != len(n.frontier) {
		return fmt.Errorf("%w: %d frontier entries for a frontier of %d", ErrMalformed, f, len(n.frontier))
	}
	for i := 0; i < f && r.err == nil; i++ {
		id, prev, kind := r.id(), r.ids(), r.u8()
		var v ID
		if kind != 0 {
			v = r.id()
		}
		var o *RekeyOrigin
		okOrigin := true
		if ver >= 2 {
			o, okOrigin = readOrigin(&r)
		}
		if r.err != nil {
			break
		}
		if id != n.frontier[i] || prev.Contains(id) || kind > hasContribution || !okOrigin {
			return fmt.Errorf("%w: frontier entry %d not canonical", ErrMalformed, i)
		}
		if o != nil {
			if o.ID(n.group, prev) != id {
				return fmt.Errorf("%w: frontier entry %d: rekey id does not match its nonce and prev", ErrMismatch, i)
			}
			n.setOrigin(id, *o)
		}
		for _, p := range prev {
			if n.known.flag(p)&flagSuperseded == 0 {
				return fmt.Errorf("%w: frontier entry %d names a prev not marked superseded", ErrMalformed, i)
			}
		}
		n.prev[id] = prev
		if kind != 0 {
			n.material[id] = material{kind: kind, v: v}
		}
	}
	l := int(r.u8())
	if r.err == nil && l > MaxLiveEpochs {
		return fmt.Errorf("%w: %d live epochs", ErrMalformed, l)
	}
	for i := 0; i < l && r.err == nil; i++ {
		e := Epoch{ID: r.id()}
		copy(e.Secret[:], r.bytes(IDSize))
		for _, o := range n.live {
			if o.ID == e.ID {
				return fmt.Errorf("%w: live epoch listed twice", ErrMalformed)
			}
		}
		n.live = append(n.live, e)
	}
	if r.err == nil && ver == stateVersionRetracted && !n.known.anyRetracted() {
		return fmt.Errorf("%w: state version %d without a retracted id", ErrMalformed, ver)
	}
	if ver >= stateVersionRecords {
		if err := n.readRecords(&r, ver); err != nil {
			return err
		}
	}
	if r.err != nil {
		return r.err
	}
	if r.left() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.left())
	}
	*s = *n
	return nil
}
