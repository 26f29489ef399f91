package epoch

import (
	"fmt"
	"slices"
)

// JoinEntry is one frontier event as a newcomer learns it in its Welcome: the event, its
// prev set, and either the event's seed (the newcomer is one of its recipients) or its
// contribution for the joining frontier (forwarded).
type JoinEntry struct {
	Event ID
	Prev  Frontier
	Kind  byte // SlotSeed or SlotContribution
	Value [IDSize]byte
	// Rekey is the author and nonce of a rekey whose id commits to its prev (RekeyID: the
	// recipient recomputes it from Prev, ParseJoin); nil for a membership key event or a
	// rekey with a legacy id, whose prev is the sender's word.
	Rekey *RekeyOrigin
}

// RekeyOrigin is the author and nonce of a rekey whose id is RekeyID(group, Author, Nonce,
// prev) (a key block of version PrevIDVersion), or, with Headed, RekeyHeadsID(group,
// Author, Nonce, prev, Heads) (version BlockVersion).
type RekeyOrigin struct {
	Author Installation
	Nonce  [NonceSize]byte
	// Headed: the rekey named membership heads (Heads, possibly none: a group without
	// causal membership), committed to by its id.
	Headed bool
	Heads  Frontier
}

// ID returns the id o gives a rekey with prev set prev.
func (o *RekeyOrigin) ID(group ID, prev Frontier) ID {
	if o.Headed {
		return RekeyHeadsID(group, o.Author, o.Nonce, prev, o.Heads)
	}
	return RekeyID(group, o.Author, o.Nonce, prev)
}

// Join is the key-schedule part of a Welcome v2 (spec: "Welcome v2"):
//
//	join  = 0x03 ‖ u8 m (1..MaxFrontier) ‖ m × entry, event ids strictly ascending
//	entry = event id(32) ‖ u8 n ‖ n × prev id(32) ‖ kind(1: 0x01 seed, 0x02 contribution) ‖ value(32) ‖
//	        origin(1: 0x00 none, 0x01 rekey, 0x02 rekey with heads) ‖ [author(16) ‖ nonce(16) if origin ≥ 0x01] ‖
//	        [u8 h ‖ h × membership head(32), ascending, if origin = 0x02]
//
// The entries' events are the joining frontier: no entry's prev names another entry.
// Version 0x02 (entries without origin) is still read.
type Join []JoinEntry

// Frontier returns the joining frontier.
func (j Join) Frontier() Frontier {
	f := make(Frontier, len(j))
	for i := range j {
		f[i] = j[i].Event
	}
	return f
}

func (j Join) check() error {
	if len(j) == 0 || len(j) > MaxFrontier {
		return fmt.Errorf("%w: join of %d events", ErrMalformed, len(j))
	}
	f := j.Frontier()
	if !f.valid() {
		return fmt.Errorf("%w: join events not strictly ascending", ErrMalformed)
	}
	for i := range j {
		e := &j[i]
		if !e.Prev.valid() || e.Prev.Contains(e.Event) || (e.Kind != SlotSeed && e.Kind != SlotContribution) {
			return fmt.Errorf("%w: join entry %d", ErrMalformed, i)
		}
		for _, p := range e.Prev {
			if f.Contains(p) {
				return fmt.Errorf("%w: join entry %d supersedes another", ErrMalformed, i)
			}
		}
	}
	return nil
}

// verify checks that every rekey entry's id commits to its prev (ErrMismatch).
func (j Join) verify(group ID) error {
	for i := range j {
		if o := j[i].Rekey; o != nil && o.ID(group, j[i].Prev) != j[i].Event {
			return fmt.Errorf("%w: join entry %d: rekey id does not match its nonce and prev", ErrMismatch, i)
		}
	}
	return nil
}

// Origin byte of a join entry.
const (
	originNone  = 0x00
	originRekey = 0x01
	originHeads = 0x02 // a rekey naming membership heads (RekeyHeadsID)
)

// appendOrigin appends o's origin byte (and author and nonce, and heads).
func appendOrigin(b []byte, o *RekeyOrigin) []byte {
	switch {
	case o == nil:
		return append(b, originNone)
	case o.Headed:
		b = append(append(append(b, originHeads), o.Author[:]...), o.Nonce[:]...)
		return appendIDs(b, o.Heads)
	}
	return append(append(append(b, originRekey), o.Author[:]...), o.Nonce[:]...)
}

// readOrigin reads an origin byte (and author and nonce, and heads); ok is false for an
// unknown byte.
func readOrigin(r *reader) (o *RekeyOrigin, ok bool) {
	switch k := r.u8(); k {
	case originNone:
		return nil, true
	case originRekey, originHeads:
		o = &RekeyOrigin{Author: r.installation()}
		copy(o.Nonce[:], r.bytes(NonceSize))
		if k == originHeads {
			if o.Headed, o.Heads = true, r.ids(); len(o.Heads) == 0 {
				o.Heads = nil
			}
		}
		return o, true
	}
	return nil, false
}

// MarshalBinary encodes the join canonically (version JoinVersion).
func (j Join) MarshalBinary() ([]byte, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	b := []byte{JoinVersion, byte(len(j))}
	for i := range j {
		e := &j[i]
		b = append(b, e.Event[:]...)
		b = appendIDs(b, e.Prev)
		b = append(append(b, e.Kind), e.Value[:]...)
		b = appendOrigin(b, e.Rekey)
	}
	return b, nil
}

// ParseJoin decodes a join of group strictly (ErrMalformed, ErrUnsupportedVersion;
// ErrMismatch: a rekey entry whose id is not RekeyID(group, author, nonce, prev)). A join
// of version 2 (before welid) has no origins.
func ParseJoin(group ID, data []byte) (Join, error) {
	r := reader{b: data}
	v := r.u8()
	if r.err == nil && v != JoinVersion && v != Version {
		return nil, fmt.Errorf("%w: join version %d", ErrUnsupportedVersion, v)
	}
	m := int(r.u8())
	if r.err == nil && (m == 0 || m > MaxFrontier) {
		return nil, fmt.Errorf("%w: join of %d events", ErrMalformed, m)
	}
	j := make(Join, 0, m)
	for i := range m {
		if r.err != nil {
			break
		}
		e := JoinEntry{Event: r.id(), Prev: r.ids(), Kind: r.u8()}
		copy(e.Value[:], r.bytes(IDSize))
		if v == JoinVersion {
			var ok bool
			if e.Rekey, ok = readOrigin(&r); !ok && r.err == nil {
				return nil, fmt.Errorf("%w: join entry %d origin", ErrMalformed, i)
			}
		}
		j = append(j, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.left())
	}
	if err := j.check(); err != nil {
		return nil, err
	}
	if err := j.verify(group); err != nil {
		return nil, err
	}
	return j, nil
}

// NewScheduleFromJoin returns the schedule of a newcomer of group: the join's events
// applied with their prev sets (which the newcomer records as superseded, never to enter
// its frontier), their seeds and contributions set. The newcomer holds nothing of any
// earlier epoch.
func NewScheduleFromJoin(group ID, j Join) (*Schedule, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	if err := j.verify(group); err != nil {
		return nil, err
	}
	s := NewSchedule(group)
	for i := range j {
		if err := s.Apply(Event{ID: j[i].Event, Prev: j[i].Prev, Rekey: j[i].Rekey}); err != nil {
			return nil, err
		}
	}
	f := j.Frontier()
	if !s.frontier.Equal(f) {
		return nil, fmt.Errorf("%w: join is not a frontier", ErrMalformed)
	}
	for i := range j {
		e := &j[i]
		var err error
		if e.Kind == SlotSeed {
			seed := Seed(e.Value)
			err = s.SetSeed(e.Event, &seed)
		} else {
			x := ID(e.Value)
			err = s.SetContribution(e.Event, f, &x)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// JoinFor returns the join a member hands a newcomer whose own add is the frontier event
// add (or, for a linked installation, the device-list event), from the member's schedule
// (prev sets as recorded when the events were applied, a rekey's author and nonce as
// recorded when its id commits to its prev):
// the newcomer's seed for its add (given: the member drew it or holds it), and for every
// other frontier event the contribution for the current frontier (the member needs its
// seed). ErrSuperseded if add is not in the frontier, ErrIncomplete if a seed is missing.
func (s *Schedule) JoinFor(add ID, seed *Seed) (Join, error) {
	if !s.frontier.Contains(add) {
		return nil, fmt.Errorf("%w: %s", ErrSuperseded, add)
	}
	var j Join
	for _, id := range s.frontier {
		e := JoinEntry{Event: id, Prev: s.Prev(id)}
		if o, ok := s.origin[id]; ok {
			e.Rekey = &o
		}
		if id == add {
			e.Kind, e.Value = SlotSeed, *seed
		} else {
			x, _, err := s.Forward(id)
			if err != nil {
				return nil, err
			}
			e.Kind, e.Value = SlotContribution, x
		}
		j = append(j, e)
	}
	return j, j.check()
}

// AdmitJoin keeps the epoch of join j live when j's frontier is not ours: a join merged
// by a member whose frontier has moved on (a second Welcome, from another inviter, for a
// key event concurrent with the first) names the epoch its sender is still sealing
// under until it learns what we hold. Without it, the sender's next publishes (sealed
// under the join's epoch) could not be opened, and neither could anything that follows
// from them. The epoch is recorded as the oldest live one (never our current one), and
// not at all when MaxLiveEpochs epochs are live or it is live already.
func (s *Schedule) AdmitJoin(j Join) error {
	js, err := NewScheduleFromJoin(s.group, j)
	if err != nil {
		return err
	}
	if js.frontier.Equal(s.frontier) {
		return nil
	}
	e, err := js.Current()
	if err != nil {
		return err
	}
	if len(s.live) >= MaxLiveEpochs || slices.ContainsFunc(s.live, func(l Epoch) bool { return l.ID == e.ID }) {
		clear(e.Secret[:])
		return nil
	}
	s.live = slices.Insert(s.live, 0, e)
	return nil
}
