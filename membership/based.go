package membership

import (
	"bytes"
	"errors"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// Based states (spec/README.md, membership › Snapshots): a causal group a member holds
// from a snapshot (an add Welcome's state) instead of its whole log. The snapshot's
// carried events (its heads and the ancestors of those it carries) are the roots; later
// events that descend from every head are judged from the snapshot's state by the causal
// rules (causalFrom); an event that does not (concurrent with the snapshot, or older)
// cannot be judged without the log and waits as pending. A based state is never derived
// as if its log were complete: Update, Extend and FromSnapshot take its base into
// account, and a full log (one holding the genesis) that places every event the based
// state holds replaces the base.

// Base is the snapshot a based state starts from: the state of the causal past of its
// carried events (Events: the snapshot's heads and, possibly, some of their ancestors).
type Base struct {
	Creator     string
	Name        string
	Color       string
	Description string
	Image       []byte
	Members     Members
	Admins      []string
	LastClock   uint64
	Events      []Event
	// Proof is the signed ADMINS_ADDED events that make every admin of the snapshot an
	// admin at some point: each names admins and is authored by the creator or by an
	// admin an earlier proof event names (provenAdmins). A snapshot whose admins are not
	// all proven is refused, so a member cannot claim in it to be an admin it never was.
	Proof []Event
}

// snapshotMagic starts an encoded snapshot (never the first byte of a stored
// MembershipUpdateMessage, which starts with field 1 or 2).
var snapshotMagic = []byte{0xc5, 'S', 'N', 0x01}

// Snapshot bounds.
const (
	// MaxSnapshotRoots is the most events a snapshot carries.
	MaxSnapshotRoots = 64
	// MaxSnapshotProof is the most ADMINS_ADDED events a snapshot carries as the proof of
	// its admins.
	MaxSnapshotProof = 1024
	maxSnapshotKeys  = 1 << 16 // members, admins
)

// ErrSnapshot: the bytes are not a well-formed snapshot.
var ErrSnapshot = errors.New("membership: malformed snapshot")

// IsSnapshot reports whether b starts as an encoded snapshot.
func IsSnapshot(b []byte) bool { return bytes.HasPrefix(b, snapshotMagic) }

// SnapshotOf returns the based state a newcomer gets from st (the inviter's state) with
// carried events carry (st's heads and the events of the change that added it): st's
// values, carry as its roots. Every head of st must be in carry.
func SnapshotOf(st *State, carry []Event) (State, error) {
	if st.Version != RulesCausal || len(st.Heads) == 0 {
		return State{}, errors.New("membership: snapshot of a non-causal group")
	}
	var roots []Event
	for i := range carry {
		id := carry[i].ID()
		if !slices.ContainsFunc(roots, func(e Event) bool { return e.ID() == id }) {
			roots = append(roots, carry[i])
		}
	}
	for _, h := range st.Heads {
		if !slices.ContainsFunc(roots, func(e Event) bool { return e.ID() == h }) {
			return State{}, errors.New("membership: snapshot without a head event")
		}
	}
	b := &Base{Creator: st.Creator, Name: st.Name, Color: st.Color, Description: st.Description, Image: bytes.Clone(st.Image),
		Members: st.Members, Admins: cloneStrings(st.Admins), LastClock: st.LastClock, Events: roots,
		Proof: adminProof(st)}
	return FromSnapshot(st.ChatID, b, nil)
}

// adminProof returns the proof of st's current admins: among the ADMINS_ADDED events st
// holds applied (its base's proof and its own), for each admin an event that proves it
// (proofChains), then the one that proves that event's author, up to the creator. Not
// every promotion the log holds: a member promoted and stepping down again 1025 times made
// every snapshot exceed MaxSnapshotProof (TestSnapshotProofCycles); now the proof is at
// most one event per account on the admins' chains.
func adminProof(st *State) []Event {
	var all []Event
	seen := map[EventID]bool{}
	add := func(e *Event) {
		if id := e.ID(); e.Type == AdminsAdded && !seen[id] {
			seen[id] = true
			all = append(all, *e)
		}
	}
	if st.Base != nil {
		for i := range st.Base.Proof {
			add(&st.Base.Proof[i])
		}
	}
	for i := range st.Events {
		add(&st.Events[i])
	}
	proofOf := proofChains(all, idOf(st.Creator))
	keep := make([]bool, len(all))
	done := map[string]bool{}
	for stack := idsOf(st.Admins); len(stack) > 0; {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if done[a] {
			continue
		}
		done[a] = true
		if i, ok := proofOf[a]; ok {
			keep[i] = true
			stack = append(stack, all[i].from)
		}
	}
	var out []Event
	for i := range all {
		if keep[i] {
			out = append(out, all[i])
		}
	}
	return out
}

// provenAdmins returns the accounts (internal ids) b's proof makes admins: the creator, and the targets
// of every proof event whose author is proven (to a fixed point).
func (b *Base) provenAdmins() map[string]bool {
	proven := map[string]bool{idOf(b.Creator): true}
	for m := range proofChains(b.Proof, idOf(b.Creator)) {
		proven[m] = true
	}
	return proven
}

// proofChains returns, for each account the ADMINS_ADDED events proof make admins from
// creator on (a target of an event whose author is the creator or such an account), the
// index of an event proving it. Breadth first from the creator over the events by author:
// linear in the proof, however it is ordered (a fixed point over the list took one pass
// per link of a chain listed last first; at the publish limit that was ~2 ms on top of
// ~15 ms of signature recovery: BenchmarkParseSnapshotProofChain). One definition of
// "proven" for the snapshot's author (adminProof) and its reader (check).
func proofChains(proof []Event, creator string) map[string]int {
	byAuthor := make(map[string][]int, len(proof))
	for i := range proof {
		byAuthor[proof[i].from] = append(byAuthor[proof[i].from], i)
	}
	proofOf := map[string]int{}
	for queue := []string{creator}; len(queue) > 0; queue = queue[1:] {
		for _, i := range byAuthor[queue[0]] {
			for _, m := range proof[i].Members.each() {
				if _, ok := proofOf[m]; !ok && m != creator {
					proofOf[m] = i
					queue = append(queue, m)
				}
			}
		}
	}
	return proofOf
}

// FromSnapshot returns the based state of chat chatID from base b with the later events
// rest (events the based state held: applied, overridden or pending). b's events must be
// authentic, causal and distinct.
func FromSnapshot(chatID string, b *Base, rest []Event) (State, error) {
	if err := b.check(chatID); err != nil {
		return State{}, err
	}
	return deriveBased(chatID, b, rest), nil
}

// check validates b for chatID: keys, admins among members, roots authentic, causal and
// distinct. (The roots no root names are the snapshot's heads: a later event is judged
// only if it descends from all of them.)
func (b *Base) check(chatID string) error {
	var keys keyChecker
	if !keys.canonical(idOf(b.Creator)) || !chorusChatIDOf(chatID, b.Creator) {
		return ErrSnapshot
	}
	if b.Members.Len() > maxSnapshotKeys || len(b.Admins) > b.Members.Len() || len(b.Events) == 0 || len(b.Events) > MaxSnapshotRoots {
		return ErrSnapshot
	}
	seen := make(map[string]bool, b.Members.Len())
	for _, m := range b.Members.each() {
		if seen[m] || !keys.canonical(m) {
			return ErrSnapshot
		}
		seen[m] = true
	}
	admins := map[string]bool{}
	for _, a := range b.Admins {
		if admins[a] || !seen[idOf(a)] {
			return ErrSnapshot
		}
		admins[a] = true
	}
	var v verifier
	if len(b.Proof) > MaxSnapshotProof {
		return ErrSnapshot
	}
	for i := range b.Proof {
		ev := &b.Proof[i]
		from, _, bad, err := v.authorFields(chatID, ev)
		if err != nil || bad || ev.Type != AdminsAdded || (ev.From != "" && ev.From != from) || (ev.ChatID != "" && ev.ChatID != chatID) {
			return ErrSnapshot
		}
		ev.From = from
	}
	proven := b.provenAdmins()
	for _, a := range b.Admins {
		if !proven[idOf(a)] {
			return ErrSnapshot // an admin the snapshot cannot prove
		}
	}
	ids := make(map[EventID]int, len(b.Events))
	for i := range b.Events {
		ev := b.Events[i]
		from, digest, bad, err := v.authorFields(chatID, &ev)
		if err != nil || bad || (ev.From != "" && ev.From != from) || len(ev.Parents) == 0 || (ev.ChatID != "" && ev.ChatID != chatID) {
			return ErrSnapshot
		}
		id := EventID(orderHash(from, digest))
		if _, dup := ids[id]; dup {
			return ErrSnapshot
		}
		ids[id] = i
	}
	return nil
}

// deriveBased runs the causal rules from base b (checked) over rest.
func deriveBased(chatID string, b *Base, rest []Event) State {
	var v verifier
	type content struct {
		from   string
		digest [32]byte
	}
	all := append(slices.Clone(b.Events), rest...)
	before := pastOfRoots(chatID, b.Events, rest)
	byContent := make(map[content]int, len(all))
	entries := make([]chorusEntry, 0, len(all))
	var roots []int
	for i := range all {
		ev := all[i]
		if ev.ChatID != "" && ev.ChatID != chatID {
			continue
		}
		from, digest, bad, err := v.authorFields(chatID, &ev)
		if err != nil || (ev.From != "" && ev.From != from) {
			continue
		}
		ev.From, ev.ChatID = from, chatID
		key := content{from, digest}
		if _, ok := byContent[key]; ok {
			continue // a root comes first and stays as carried
		}
		if i >= len(b.Events) && before[EventID(orderHash(from, digest))] {
			continue // in the snapshot's past: its effect is the base's
		}
		byContent[key] = len(entries)
		entries = append(entries, chorusEntry{ev: ev, order: orderHash(from, digest), bad: bad})
	}
	// Sort by (clock, H), remembering which entries are roots.
	isRoot := make(map[EventID]bool, len(b.Events))
	for i := 0; i < len(b.Events) && i < len(entries); i++ {
		isRoot[EventID(entries[i].order)] = true
	}
	slices.SortFunc(entries, func(a, b chorusEntry) int {
		switch {
		case a.ev.Clock < b.ev.Clock:
			return -1
		case a.ev.Clock > b.ev.Clock:
			return 1
		}
		return bytes.Compare(a.order[:], b.order[:])
	})
	for i := range entries {
		if isRoot[EventID(entries[i].order)] {
			roots = append(roots, i)
		}
	}
	gs := &cstate{members: newOrderedSet(), admins: newOrderedSet(), name: b.Name, color: b.Color,
		description: b.Description, image: b.Image, lastClock: b.LastClock}
	gs.members.add(b.Members.keyList()...)
	gs.admins.add(idsOf(b.Admins)...)
	s := causalFrom(entries, roots, gs, idOf(b.Creator))
	s.ChatID, s.Creator, s.Base = chatID, b.Creator, b
	// The base's lists when they are the state's: shared, not copied (a newcomer of a large
	// group held its member list twice, issue 16). Neither is ever written in place: a
	// state's lists are replaced (cstateOf, Clone and the rules work on copies).
	if s.Members.Equal(b.Members) {
		s.Members = b.Members
	}
	if slices.Equal(s.Admins, b.Admins) {
		s.Admins = b.Admins
	}
	return s
}

// pastOfRoots returns the ids of the events of rest that are ancestors of a root (through
// parents held among roots and rest): their effect is in the base state already.
func pastOfRoots(chatID string, roots, rest []Event) map[EventID]bool {
	if len(rest) == 0 {
		return nil
	}
	byID := make(map[EventID]*Event, len(rest))
	for i := range rest {
		if rest[i].ChatID == chatID || rest[i].ChatID == "" {
			byID[rest[i].ID()] = &rest[i]
		}
	}
	past := map[EventID]bool{}
	var stack []EventID
	for i := range roots {
		stack = append(stack, roots[i].Parents...)
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if past[id] {
			continue
		}
		past[id] = true
		if e, ok := byID[id]; ok {
			stack = append(stack, e.Parents...)
		}
	}
	return past
}

// extendBased is Update's path for a based state: extendCausal when it can tell, the
// causal rules from the base otherwise; a full log (it holds the chat's genesis) replaces
// the base when the rules place every event the based state holds.
func extendBased(stored *State, incoming []Event) State {
	for i := range incoming {
		if incoming[i].Type == ChatCreated {
			if s, err := (chorusRules{}).derive(stored.ChatID, append(stored.Log(), incoming...)); err == nil && placesAll(&s, stored) {
				return s
			}
			break
		}
	}
	if next, ok := extendCausal(stored, incoming); ok {
		return next
	}
	return deriveBased(stored.ChatID, stored.Base, append(stored.Log()[len(stored.Base.Events):], incoming...))
}

// placesAll reports whether every applied or overridden event of old is applied or
// overridden in s, or held in s (rule 1: pending with every parent kept — in a full log
// nothing else is — so a twin of it with its effect is kept): a based member whose carried
// add has a twin that the full log keeps in its place (fix 44) takes the log.
func placesAll(s, old *State) bool {
	kept := make(map[EventID]bool, len(s.Events)+len(s.Overridden))
	for _, list := range [][]Event{s.Events, s.Overridden} {
		for i := range list {
			kept[list[i].ID()] = true
		}
	}
	for _, list := range [][]Event{old.Events, old.Overridden} {
		for i := range list {
			if !kept[list[i].ID()] && !heldIn(s, &list[i], kept) {
				return false
			}
		}
	}
	return true
}

// heldIn reports whether ev is a held twin in s (rule 1): pending there with every parent
// kept, and a kept event of s has its author and effect. Such an event of the based state
// (a root the snapshot carried, its twin arriving later first in T and nothing naming it)
// is placed: the full log keeps its effect (review 30, TestReview30HeldRootRefusesFullLog).
func heldIn(s *State, ev *Event, kept map[EventID]bool) bool {
	id := ev.ID()
	if !slices.ContainsFunc(s.Pending, func(p Event) bool { return p.ID() == id }) {
		return false
	}
	for _, p := range ev.Parents {
		if !kept[p] {
			return false
		}
	}
	for _, list := range [][]Event{s.Events, s.Overridden} {
		for i := range list {
			if list[i].From == ev.From && sameEffect(&list[i], ev) {
				return true
			}
		}
	}
	return false
}

// Extend applies events (signed by the caller, or received) to stored as Update does
// (without its clock checks), based or not: the one way to add events to a held state.
func Extend(stored *State, events []Event) (State, error) {
	if stored.Base != nil {
		return extendBased(stored, events), nil
	}
	if next, ok := extendCausal(stored, events); ok {
		return next, nil
	}
	return Derive(stored.ChatID, append(stored.Log(), events...), ChorusRules())
}

// MarshalSnapshot encodes a based state: its base, then its later events (applied,
// overridden, pending). The chat id is not encoded (the Welcome or the group record holds
// it), nor the creator (the chat id names it); member keys are their 65 bytes, admins
// indices into the members:
//
//	0xc5 'S' 'N' 0x01 ‖ u16<name> ‖ u16<color> ‖ u16<description> ‖ u32<image> ‖
//	u64 last clock ‖ u32 m ‖ m × key(65) ‖ u32 a ‖ a × u32 member index ‖
//	u8 r (1..64) ‖ u32 e (≥ r) ‖ e × u32<event: signature(65) ‖ payload> ‖
//	u16 p (≤ 1024) ‖ p × u32<event>      the proof: ADMINS_ADDED events (Base.Proof)
//
// the first r events being the carried ones (the base's), the others the later events.
func (s *State) MarshalSnapshot() ([]byte, error) {
	b := s.Base
	if b == nil {
		return nil, errors.New("membership: not a based state")
	}
	evs := append(slices.Clone(b.Events), s.Log()[len(b.Events):]...)
	var w cryptobyte.Builder
	w.AddBytes(snapshotMagic)
	for _, str := range []string{b.Name, b.Color, b.Description} {
		w.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte(str)) })
	}
	w.AddUint32LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(b.Image) })
	w.AddUint64(b.LastClock)
	w.AddUint32(uint32(b.Members.Len()))
	index := make(map[string]int, b.Members.Len())
	for i, k := range b.Members.each() {
		if !isKeyID(k) {
			return nil, ErrSnapshot
		}
		w.AddBytes([]byte(k))
		index[k] = i
	}
	w.AddUint32(uint32(len(b.Admins)))
	for _, a := range b.Admins {
		i, ok := index[idOf(a)]
		if !ok {
			return nil, ErrSnapshot
		}
		w.AddUint32(uint32(i))
	}
	w.AddUint8(uint8(len(b.Events)))
	w.AddUint32(uint32(len(evs)))
	for i := range evs {
		ev := &evs[i]
		if len(ev.Signature) != SignatureLength || ev.PayloadSize() == 0 {
			return nil, ErrSnapshot
		}
		w.AddUint32LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(ev.AppendEntry(nil)) })
	}
	if len(b.Proof) > MaxSnapshotProof {
		return nil, ErrSnapshot
	}
	w.AddUint16(uint16(len(b.Proof)))
	for i := range b.Proof {
		ev := &b.Proof[i]
		if len(ev.Signature) != SignatureLength || ev.PayloadSize() == 0 {
			return nil, ErrSnapshot
		}
		w.AddUint32LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(ev.AppendEntry(nil)) })
	}
	return w.Bytes()
}

// ParseSnapshot decodes an encoded based state of chat chatID strictly (bounds, keys,
// authentic causal carried events: Base.check) and derives it.
func ParseSnapshot(chatID string, data []byte) (State, error) {
	s := cryptobyte.String(data)
	var magic []byte
	if !s.ReadBytes(&magic, len(snapshotMagic)) || !bytes.Equal(magic, snapshotMagic) {
		return State{}, ErrSnapshot
	}
	b := &Base{}
	var strs [3][]byte
	for i := range strs {
		var v cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&v) {
			return State{}, ErrSnapshot
		}
		strs[i] = v
	}
	b.Name, b.Color, b.Description = string(strs[0]), string(strs[1]), string(strs[2])
	var img cryptobyte.String
	if !readVec32(&s, &img) || !s.ReadUint64(&b.LastClock) {
		return State{}, ErrSnapshot
	}
	if len(img) > 0 {
		b.Image = bytes.Clone(img)
	}
	var n uint32
	if !s.ReadUint32(&n) || n > maxSnapshotKeys || int(n) > len(s)/65 {
		return State{}, ErrSnapshot
	}
	var keys []byte
	if !s.ReadBytes(&keys, 65*int(n)) {
		return State{}, ErrSnapshot
	}
	b.Members = membersOfKeys(bytes.Clone(keys))
	if !s.ReadUint32(&n) || n > uint32(b.Members.Len()) {
		return State{}, ErrSnapshot
	}
	for range n {
		var i uint32
		if !s.ReadUint32(&i) || i >= uint32(b.Members.Len()) {
			return State{}, ErrSnapshot
		}
		b.Admins = append(b.Admins, b.Members.At(int(i)))
	}
	var r uint8
	if !s.ReadUint8(&r) || !s.ReadUint32(&n) || r == 0 || r > MaxSnapshotRoots || n < uint32(r) || int(n) > len(s)/4 {
		return State{}, ErrSnapshot
	}
	evs, ok := readEvents(&s, chatID, int(n))
	if !ok {
		return State{}, ErrSnapshot
	}
	var p uint16
	if !s.ReadUint16(&p) || p > MaxSnapshotProof || int(p) > len(s)/4 {
		return State{}, ErrSnapshot
	}
	if b.Proof, ok = readEvents(&s, chatID, int(p)); !ok {
		return State{}, ErrSnapshot
	}
	if len(b.Proof) == 0 {
		b.Proof = nil
	}
	if !s.Empty() {
		return State{}, ErrSnapshot
	}
	if i := strings.LastIndex(chatID, "-"); i >= 0 {
		b.Creator = chatID[i+1:]
	}
	b.Events = evs[:r:r]
	return FromSnapshot(chatID, b, evs[r:])
}

// readEvents reads n u32-length-prefixed events of chat chatID.
func readEvents(s *cryptobyte.String, chatID string, n int) ([]Event, bool) {
	evs := make([]Event, 0, n)
	for range n {
		var raw cryptobyte.String
		if !readVec32(s, &raw) {
			return nil, false
		}
		ev, err := parseEvent(chatID, raw)
		if err != nil {
			return nil, false
		}
		evs = append(evs, ev)
	}
	return evs, true
}

// readVec32 reads a u32-length-prefixed byte string.
func readVec32(s *cryptobyte.String, out *cryptobyte.String) bool {
	var n uint32
	return s.ReadUint32(&n) && s.ReadBytes((*[]byte)(out), int(n))
}
