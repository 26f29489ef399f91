package membership

import (
	"bytes"
	"slices"
	"time"
)

// Rules is a membership rule set: StatusRules or ChorusRules.
type Rules interface {
	// Name is "status" or "chorus".
	Name() string
	derive(chatID string, events []Event) (State, error)
	update(stored *State, m *Message, bad []*RejectError, self string, nowMs uint64) (State, error)
	strictParse() bool
}

// State is a group derived from its events.
type State struct {
	ChatID  string
	Creator string
	Name    string
	Color   string
	// Description is set by the Chorus DESCRIPTION_CHANGED event (always empty under
	// StatusRules, which reject that event).
	Description string
	Image       []byte
	// Members and Admins are in the order the rules report them (for StatusRules, the
	// insertion order of status-go's string sets).
	Members Members
	Admins  []string
	// LastClock is the clock of the last applied event in the v1 total order; under the
	// causal rules, the largest clock of an applied event.
	LastClock uint64
	// Version is RulesCausal for a group under the causal rules (its CHAT_CREATED says so),
	// 0 for the v1 Chorus rules and StatusRules.
	Version uint32
	// Heads (causal rules) are the ids of the kept events (applied or overridden) that no
	// other kept event names as a parent, ascending: the parents of the next event we sign.
	Heads []EventID
	// Overridden (causal rules) are events that were valid against the state of their
	// causal past but are not applied because of a concurrent event (a removal of their
	// author, a promotion of their target). They are kept and sent (later events may name
	// them as parents) and never apply later.
	Overridden []Event
	// Events are the applied events in application order (StatusRules: status-go's sorted
	// event list, which it stores and sends).
	Events []Event
	// Pending (ChorusRules only) are authentic events of this chat that the rules did not
	// apply given the events known so far: under the v1 rules, invalid events (a later event
	// can make them valid); under the causal rules, events waiting for a parent. They are
	// kept and sent with Events; this is what makes the state converge.
	Pending []Event
	// Base (causal rules) is the snapshot a based state starts from (based.go; nil: the
	// state is derived from the whole log). Events then start with Base.Events, and the
	// events before them are not held: the state is never derived from its log alone.
	Base *Base

	// room is the array Events are a prefix of when extendCausal built them (nil
	// otherwise): the next extension may write past them there (see eventRoom).
	room *eventRoom
}

// Derive computes the state of chat chatID from events under rules. It is pure: it does
// not modify events. Every event's author is verified against its signature (a recovery
// is skipped when the event was parsed or signed by this package and is unchanged).
//
// StatusRules fail as status-go's NewGroupWithEvents does (a *RejectError of StageGroupInit:
// one bad event rejects everything). ChorusRules drop invalid events one by one and only
// fail when no valid CHAT_CREATED exists (StageNoGenesis).
func Derive(chatID string, events []Event, rules Rules) (State, error) {
	return rules.derive(chatID, events)
}

// Update applies an encoded incoming MembershipUpdateMessage to the receiver's stored group
// (nil: the receiver has no chat with that id yet) as a receiver does, and returns the new
// stored group and the parsed message (for its piggybacked chat entity). self is the
// receiver's key string and now its clock.
//
// Under StatusRules this is the membership part of status-go's HandleMembershipUpdate:
// parse, clock validation (no clock 0, none more than MaxClockDriftMs ahead of now), then
// for a new chat: a valid group that contained self at some point and whose members all
// parse as keys; for a known chat: the message must form a valid group on its own and the
// merge with the stored events (de-duplicated by signature bytes) too. Any failure rejects
// the whole message (a *RejectError) and the stored state is to be kept.
//
// Under ChorusRules bad entries and events with a zero or future clock are dropped one by
// one, the rest is merged with the stored events and pending events, and the state is
// derived again; a new chat must have contained self.
func Update(stored *State, msg []byte, self string, now time.Time, rules Rules) (State, *Message, error) {
	m, bad, err := decodeMessage(msg, rules.strictParse())
	if err != nil {
		return State{}, nil, err
	}
	if rules.strictParse() && len(bad) > 0 {
		return State{}, nil, bad[0]
	}
	nowMs := uint64(0)
	if ms := now.UnixMilli(); ms > 0 {
		nowMs = uint64(ms)
	}
	st, err := rules.update(stored, m, bad, self, nowMs)
	if err != nil {
		return State{}, nil, err
	}
	return st, m, nil
}

// Log returns the events a member keeps and sends: the applied events, then the
// overridden and the pending ones (a new slice).
func (s State) Log() []Event {
	out := make([]Event, 0, len(s.Events)+len(s.Overridden)+len(s.Pending))
	return append(append(append(out, s.Events...), s.Overridden...), s.Pending...)
}

// IsMember reports whether key is a member.
func (s State) IsMember(key string) bool { return s.Members.Contains(key) }

// IsAdmin reports whether key is an admin.
func (s State) IsAdmin(key string) bool { return slices.Contains(s.Admins, key) }

// WasEverMember reports whether key created the group or was the target of a MEMBERS_ADDED
// event (status-go's Group.WasEverMember).
//
// For a based state, also a member of its base or its creator (the snapshot's past is not
// held).
func (s State) WasEverMember(key string) bool {
	k := idOf(key)
	if b := s.Base; b != nil && (key == b.Creator || b.Members.indexKey(k) >= 0) {
		return true
	}
	if len(s.Events) == 0 {
		return false
	}
	if s.Events[0].Type == ChatCreated && s.Events[0].From == key {
		return true
	}
	for i := range s.Events {
		if s.Events[i].Type == MembersAdded && s.Events[i].Members.indexKey(k) >= 0 {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of s (events share their immutable byte slices).
func (s State) Clone() State {
	s.Image = bytes.Clone(s.Image)
	s.Admins = cloneStrings(s.Admins)
	s.Events = slices.Clone(s.Events)
	s.Pending = slices.Clone(s.Pending)
	s.Overridden = slices.Clone(s.Overridden)
	s.Heads = slices.Clone(s.Heads)
	s.room = nil
	return s
}

// Changes lists the members and admins that differ between two states.
type Changes struct {
	MembersAdded, MembersRemoved, AdminsAdded, AdminsRemoved []string
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.MembersAdded)+len(c.MembersRemoved)+len(c.AdminsAdded)+len(c.AdminsRemoved) == 0
}

// Diff reports the members and admins added and removed from old to new (added in new's
// order, removed in old's order). The engine rekeys on any member change.
func Diff(old, new State) Changes {
	var c Changes
	removed, added := setDiff(old.Members, new.Members)
	c.MembersRemoved, c.MembersAdded = hexesOf(removed), hexesOf(added)
	c.AdminsRemoved, c.AdminsAdded = setDiff(Members{ids: old.Admins}, Members{ids: new.Admins}) // as keys: the ids themselves
	return c
}

// setDiff returns the keys of minus(a, b) and minus(b, a) for sets a and b (distinct
// items). The usual change keeps a's order, drops some items and appends others: one walk
// finds it (checked: an appended item must not be one the walk took as dropped); anything
// else takes maps.
func setDiff(a, b Members) (onlyA, onlyB []string) {
	var buf [4]int
	dropped, j := a.Dropped(b, buf[:0])
	for _, i := range dropped {
		onlyA = append(onlyA, a.Key(i))
	}
	if len(onlyA)*(b.Len()-j) > 1024 {
		return minus(a, b), minus(b, a)
	}
	for k := j; k < b.Len(); k++ {
		if slices.Contains(onlyA, b.Key(k)) {
			return minus(a, b), minus(b, a)
		}
		onlyB = append(onlyB, b.Key(k))
	}
	return onlyA, onlyB
}

// minus returns the keys of the elements of a not in b, in a's order.
func minus(a, b Members) []string {
	in := make(map[string]struct{}, b.Len())
	for _, k := range b.each() {
		in[k] = struct{}{}
	}
	var out []string
	for _, k := range a.each() {
		if _, ok := in[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// orderedSet is status-go's stringSet: a set that lists its items (internal ids) in
// insertion order. Without a map (m nil: a set built for a few checks, see cstateOf) it
// scans its items.
type orderedSet struct {
	m     map[string]struct{}
	items []string
	// shared: the items are base's, a state's list (cstateOf), not to be written: the
	// first change makes the set's own list (issue 16: a removal from a large group makes
	// one list, not a copy of the state's and then another).
	shared bool
	base   Members
	// found is the index in base, shared, of foundKey, the item has found there last
	// ("": none): a removal checks that its member is there (rule 2), then removes it,
	// and the second scan of a large group's list is spared (issue 13).
	found    int
	foundKey string
}

func newOrderedSet() *orderedSet { return &orderedSet{m: make(map[string]struct{})} }

// own makes the set's own list of items, with room for more.
func (s *orderedSet) own(more int) {
	if !s.shared {
		return
	}
	s.items = make([]string, s.base.Len(), s.base.Len()+more)
	for i := range s.items {
		s.items[i] = s.base.Key(i)
	}
	s.shared, s.base, s.foundKey = false, Members{}, ""
}

func (s *orderedSet) add(items ...string) {
	for _, it := range items {
		if !s.has(it) {
			if s.m != nil {
				s.m[it] = struct{}{}
			}
			s.own(len(items))
			s.items = append(s.items, it)
		}
	}
}

// remove removes it (one scan of the items; a shared list is copied once, without it).
func (s *orderedSet) remove(it string) {
	if s.m != nil {
		if _, ok := s.m[it]; !ok {
			return
		}
		delete(s.m, it)
	}
	if s.shared {
		i := s.found
		if s.foundKey == "" || s.foundKey != it {
			i = s.base.indexKey(it)
		}
		if i < 0 {
			return
		}
		items := make([]string, 0, s.base.Len()-1)
		items = s.base.appendKeys(s.base.appendKeys(items, 0, i), i+1, s.base.Len())
		s.items, s.shared, s.base, s.foundKey = items, false, Members{}, ""
		return
	}
	i := slices.Index(s.items, it)
	if i < 0 {
		return
	}
	s.items = slices.Delete(s.items, i, i+1)
}

func (s *orderedSet) has(it string) bool {
	if s.m == nil {
		if s.shared {
			i := s.base.indexKey(it)
			if i >= 0 {
				s.found, s.foundKey = i, it
			}
			return i >= 0
		}
		return slices.Contains(s.items, it)
	}
	_, ok := s.m[it]
	return ok
}

// index gives a set without a map its map.
func (s *orderedSet) index() {
	if s.m != nil {
		return
	}
	s.m = make(map[string]struct{}, s.len())
	for i := range s.len() {
		s.m[s.at(i)] = struct{}{}
	}
}

func (s *orderedSet) len() int {
	if s.shared {
		return s.base.Len()
	}
	return len(s.items)
}

func (s *orderedSet) at(i int) string {
	if s.shared {
		return s.base.Key(i)
	}
	return s.items[i]
}

func (s *orderedSet) empty() bool { return s.len() == 0 }

// list returns a copy of the items.
func (s *orderedSet) list() []string {
	s.own(0)
	return cloneStrings(s.items)
}

// members returns the items as a state's list: the shared one when unchanged, else the
// set's own list made a Members (the set is not used after).
func (s *orderedSet) members() Members {
	if s.shared {
		return s.base
	}
	return membersOwn(s.items)
}

// verifier checks event authors within one Derive, recovering each distinct
// (signature, digest) at most once.
type verifier struct {
	cache map[[SignatureLength + 32]byte]string
}

// author returns the verified author of ev for chatID and the signing digest, or the
// recovery or payload decoding error. It sets ev's decoded fields to what its signed
// Payload says: the rules apply the signed content, never fields edited after parsing.
func (v *verifier) author(chatID string, ev *Event) (string, [32]byte, error) {
	from, digest, _, err := v.authorFields(chatID, ev)
	return from, digest, err
}

// authorFields is author that also reports whether the causal fields (101, 102) are
// malformed.
func (v *verifier) authorFields(chatID string, ev *Event) (string, [32]byte, bool, error) {
	if a := ev.verified(chatID); a != nil {
		a.fields.bind(ev)
		ev.from = a.fromID
		return a.from, a.digest, a.fields.causalErr, nil
	}
	digest := ev.digest(chatID)
	if len(ev.Signature) != SignatureLength {
		return "", digest, false, errInvalidPayloadLength
	}
	var k [SignatureLength + 32]byte
	copy(k[:], ev.Signature)
	copy(k[SignatureLength:], digest[:])
	from, ok := v.cache[k]
	if !ok {
		var err error
		if from, err = recoverAuthor(digest, ev.Signature); err != nil {
			return "", digest, false, err
		}
		if v.cache == nil {
			v.cache = make(map[[SignatureLength + 32]byte]string)
		}
		v.cache[k] = from
	}
	f, err := ev.fields()
	if err != nil {
		return "", digest, false, err
	}
	f.bind(ev)
	ev.from = idOf(from)
	return from, digest, f.causalErr, nil
}
