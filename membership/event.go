package membership

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/sha3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/membership/pb"
)

// EventType is the type of a membership event: the values of spec 55
// (MembershipUpdateEvent.EventType) plus the Chorus DescriptionChanged.
type EventType int32

// Event types. Values 1..9 are spec 55 / status-go; DescriptionChanged (100) is a Chorus
// addition that status-go does not know (its rules reject such an event).
const (
	UnknownEvent       EventType = 0
	ChatCreated        EventType = 1
	NameChanged        EventType = 2
	MembersAdded       EventType = 3
	MemberJoined       EventType = 4
	MemberRemoved      EventType = 5
	AdminsAdded        EventType = 6
	AdminRemoved       EventType = 7
	ColorChanged       EventType = 8
	ImageChanged       EventType = 9
	DescriptionChanged EventType = 100
)

// String returns the protobuf name of t (or its number when unnamed).
func (t EventType) String() string {
	if n, ok := pb.MembershipUpdateEvent_EventType_name[int32(t)]; ok {
		return n
	}
	return strconv.Itoa(int(t))
}

// Event is one signed membership event.
//
// Its signed bytes are the wire entry Signature || payload: Payload returns the encoded
// MembershipUpdateEvent exactly as signed (unknown fields included), Signature is the
// 65-byte R||S||V signature over Keccak256(utf8(ChatID) || payload), Raw returns the entry,
// and From is the recovered author key string. The decoded fields (Clock ... Description)
// are informational copies of the payload: encodings, signature checks and the rules
// (Derive, Update) always use the payload, never decoded fields that differ.
//
// Signature is never modified in place (copy it to change it). An event parsed or signed
// by this package holds a payload whose member entries are canonical keys in compact form:
// each key's 65 bytes, which its Members share, and the exact payload is rendered on
// demand (issue 16: a large group's MEMBERS_ADDED was most of a client's heap, as hex).
type Event struct {
	ChatID      string
	Clock       uint64
	Type        EventType
	Members     Members
	Name        string
	Color       string
	Description string
	Image       []byte
	From        string
	Signature   []byte
	// Parents (Chorus causal rules, field 101) are the ids of the events the author had
	// applied and that no other applied event names as a parent (its heads) when it signed.
	Parents []EventID
	// Version (field 102) is RulesCausal on the CHAT_CREATED of a group under the causal
	// rules, 0 otherwise.
	Version uint32
	// EpochPrev (field 103) is, on a membership key event of the v2 key schedule, the epoch
	// prev digest of its key block (epoch.MemberPrevDigest of the block's prev): the event's
	// id commits to its key event's prev. nil when absent (or malformed: not EpochPrevSize
	// bytes, or repeated); else EpochPrevSize bytes.
	EpochPrev []byte

	// entry holds the signed payload (nil: none).
	entry *entry
	// from is From's internal id (members.go) as the rules use it, set with the author's
	// verification (verifier.authorFields).
	from string
	// auth records that this package recovered From from Signature over digest, so that
	// Derive need not recover it again while Signature, the entry and From are unchanged.
	auth *authTag
}

// EventFromEntry returns the event of a wire entry (Signature || payload; copied), not
// verified: its other fields are zero (set them as needed); Derive, Update and Extend
// recover its author and apply what its payload says. An entry of at most 65 bytes is all
// signature.
func EventFromEntry(raw []byte) Event {
	if len(raw) <= SignatureLength {
		return Event{Signature: bytes.Clone(raw)}
	}
	e := newEntry(raw)
	return Event{Signature: e.sig, entry: e}
}

// Payload returns the signed payload: a new slice for an event in compact form, else the
// event's own bytes (not to be modified).
func (ev Event) Payload() []byte {
	if ev.entry == nil {
		return nil
	}
	return ev.entry.payload()
}

// Raw returns the wire entry Signature || payload (a new slice).
func (ev Event) Raw() []byte {
	return ev.AppendEntry(make([]byte, 0, len(ev.Signature)+ev.PayloadSize()))
}

// AppendEntry appends the wire entry Signature || payload to dst.
func (ev Event) AppendEntry(dst []byte) []byte {
	dst = append(dst, ev.Signature...)
	if ev.entry != nil {
		dst = ev.entry.appendPayload(dst)
	}
	return dst
}

// PayloadSize returns the length of the payload.
func (ev Event) PayloadSize() int {
	if ev.entry == nil {
		return 0
	}
	return ev.entry.size()
}

// entry is an event's signed bytes: the wire entry as it came, or, when its member entries
// are one run of canonical keys, its signature and payload in compact form (one block).
type entry struct {
	raw []byte // signature || payload; nil when compact
	sig []byte // raw's first 65 bytes, or the compact block's
	c   compactPayload
}

// newEntry holds raw (more than 65 bytes; copied), in compact form when it can.
func newEntry(raw []byte) *entry {
	if c, sig, ok := compactWith(raw[:SignatureLength], raw[SignatureLength:]); ok {
		return &entry{sig: sig, c: c}
	}
	raw = bytes.Clone(raw)
	return &entry{raw: raw, sig: raw[:SignatureLength:SignatureLength]}
}

func (e *entry) compact() bool { return e.raw == nil }

func (e *entry) payload() []byte {
	if e.compact() {
		return e.c.appendPayload(make([]byte, 0, e.c.size()))
	}
	return e.raw[SignatureLength:]
}

func (e *entry) appendPayload(dst []byte) []byte {
	if e.compact() {
		return e.c.appendPayload(dst)
	}
	return append(dst, e.raw[SignatureLength:]...)
}

func (e *entry) size() int {
	if e.compact() {
		return e.c.size()
	}
	return len(e.raw) - SignatureLength
}

// digest returns Keccak256(utf8(chatID) || payload) without rendering the payload.
func (e *entry) digest(chatID string) [32]byte {
	if !e.compact() {
		return signingDigest(chatID, e.raw[SignatureLength:])
	}
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(chatID))
	h.Write(e.c.head)
	var buf [memberEntryLength]byte
	copy(buf[:], memberEntryPrefix[:])
	for i := range e.c.members() {
		hex.Encode(buf[len(memberEntryPrefix):], e.c.key(i))
		h.Write(buf[:])
	}
	h.Write(e.c.tail)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// equalPayload reports whether the payload is p, without rendering it.
func (e *entry) equalPayload(p []byte) bool {
	if !e.compact() {
		return bytes.Equal(e.raw[SignatureLength:], p)
	}
	c := &e.c
	if len(p) != c.size() || !bytes.HasPrefix(p, c.head) || !bytes.HasSuffix(p, c.tail) {
		return false
	}
	var buf [memberEntryLength]byte
	copy(buf[:], memberEntryPrefix[:])
	at := len(c.head)
	for i := range c.members() {
		hex.Encode(buf[len(memberEntryPrefix):], c.key(i))
		if !bytes.Equal(p[at:at+memberEntryLength], buf[:]) {
			return false
		}
		at += memberEntryLength
	}
	return true
}

// fields decodes the payload: for a compact one, its fields but the members from head ||
// tail (the same fields: the members are one run) and the members from its keys.
func (e *entry) fields() (eventFields, error) {
	if !e.compact() {
		return decodeFields(e.raw[SignatureLength:])
	}
	rest := append(append(make([]byte, 0, len(e.c.head)+len(e.c.tail)), e.c.head...), e.c.tail...)
	f, err := decodeFields(rest)
	if err != nil {
		return f, err
	}
	f.members = membersOfKeys(e.c.keys)
	return f, nil
}

// authTag is a recovered (chat id, entry, signature) -> author binding, with the fields
// the payload decodes to. It holds a private copy of the signature, and, for an entry held
// as it came (whose payload Payload shares), the payload's keyed hash (seed is random per
// tag), so later changes to the event's slices are detected.
type authTag struct {
	chatID string
	entry  *entry
	seed   maphash.Seed
	sum    uint64 // maphash.Bytes(seed, payload) of an entry not compact
	sig    [SignatureLength]byte
	digest [32]byte
	from   string
	fromID string // from's internal id
	fields eventFields
	id     EventID // orderHash(from, digest)
}

// eventFields are the decoded fields of an event payload.
type eventFields struct {
	clock       uint64
	typ         EventType
	members     Members
	name        string
	color       string
	description string
	image       []byte
	parents     []EventID
	version     uint32
	epochPrev   []byte
	// causalErr: fields 101/102 are present but malformed (the causal rules discard the event).
	causalErr bool
}

// fieldsOf returns private copies of ev's decoded fields (the members are immutable: shared).
func fieldsOf(ev *Event) eventFields {
	return eventFields{clock: ev.Clock, typ: ev.Type, members: ev.Members, name: ev.Name,
		color: ev.Color, description: ev.Description, image: bytes.Clone(ev.Image),
		parents: slices.Clone(ev.Parents), version: ev.Version, epochPrev: bytes.Clone(ev.EpochPrev)}
}

// decodeFields decodes an event payload.
func decodeFields(payload []byte) (eventFields, error) {
	var m pb.MembershipUpdateEvent
	if err := proto.Unmarshal(payload, &m); err != nil {
		return eventFields{}, err
	}
	f := eventFields{clock: m.Clock, typ: EventType(m.Type), members: MembersOf(m.Members...), name: m.Name,
		color: m.Color, description: string(m.Description), image: m.Image}
	cf, err := decodeCausal(m.ProtoReflect().GetUnknown())
	if err != nil {
		f.causalErr = true
	}
	f.parents, f.version, f.epochPrev = cf.parents, cf.version, cf.epochPrev
	return f, nil
}

// bind makes ev's decoded fields those of f (copies), unless they already are.
func (f *eventFields) bind(ev *Event) {
	if ev.Clock == f.clock && ev.Type == f.typ && ev.Members.Equal(f.members) && ev.Name == f.name &&
		ev.Color == f.color && ev.Description == f.description && bytes.Equal(ev.Image, f.image) &&
		slices.Equal(ev.Parents, f.parents) && ev.Version == f.version && bytes.Equal(ev.EpochPrev, f.epochPrev) {
		return
	}
	ev.Clock, ev.Type, ev.Name, ev.Color, ev.Description = f.clock, f.typ, f.name, f.color, f.description
	ev.Members, ev.Image = f.members, bytes.Clone(f.image)
	ev.Parents, ev.Version, ev.EpochPrev = slices.Clone(f.parents), f.version, bytes.Clone(f.epochPrev)
}

// Event errors.
var (
	// ErrEmptyChatID: an event cannot be signed without a chat id.
	ErrEmptyChatID = errors.New("membership: can't sign with empty chatID")
	// ErrBadEvent: an event entry that cannot be parsed or whose author cannot be recovered.
	ErrBadEvent = errors.New("membership: bad event")
)

// errInvalidPayloadLength is status-go's text for an entry of at most 65 bytes.
var errInvalidPayloadLength = errors.New("invalid payload length")

// encodePayload returns the MembershipUpdateEvent encoding of ev's fields, as status-go's
// proto.Marshal of the same fields (ascending field numbers, zero values omitted).
func encodePayload(ev *Event) ([]byte, error) {
	m := &pb.MembershipUpdateEvent{
		Clock:   ev.Clock,
		Members: ev.Members.Strings(),
		Name:    ev.Name,
		Type:    pb.MembershipUpdateEvent_EventType(ev.Type),
		Color:   ev.Color,
		Image:   ev.Image,
	}
	if ev.Description != "" {
		m.Description = []byte(ev.Description)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return appendCausal(b, ev.Parents, ev.Version, ev.EpochPrev)
}

// SignEvent encodes ev's fields (Clock, Type, Members, Name, Color, Image, Description, then
// the Chorus Parents, Version and EpochPrev) as status-go does, signs them for chatID with key and
// returns the event with ChatID, its entry (Payload, Raw), Signature and From filled. The
// signature is deterministic (RFC 6979), so the result is byte-identical to what status-go
// builds for the same inputs.
func SignEvent(key *ecdsa.PrivateKey, chatID string, ev Event) (Event, error) {
	if chatID == "" {
		return Event{}, ErrEmptyChatID
	}
	payload, err := encodePayload(&ev)
	if err != nil {
		return Event{}, fmt.Errorf("membership: encode event: %w", err)
	}
	digest := signingDigest(chatID, payload)
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return Event{}, fmt.Errorf("membership: sign event: %w", err)
	}
	// Held as a parsed entry is (compact: issue 16, an admin adding many members kept the
	// payload, the entry as a second copy of it and the caller's strings).
	e := newEntry(append(sig, payload...)) // sig: 65 bytes (crypto.Sign)
	f, err := e.fields()
	if err != nil {
		return Event{}, fmt.Errorf("membership: encode event: %w", err)
	}
	from := PublicKeyString(&key.PublicKey)
	ev = Event{ChatID: chatID, Clock: f.clock, Type: f.typ, Members: f.members, Name: f.name, Color: f.color,
		Description: f.description, Image: f.image, From: from, Signature: e.sig, Parents: f.parents, Version: f.version,
		EpochPrev: f.epochPrev, entry: e}
	ev.auth = newAuth(chatID, e, digest, from, fieldsOf(&ev))
	ev.from = ev.auth.fromID
	return ev, nil
}

func newAuth(chatID string, e *entry, digest [32]byte, from string, fields eventFields) *authTag {
	a := &authTag{chatID: chatID, entry: e, digest: digest, from: from, fromID: idOf(from), fields: fields,
		id: EventID(orderHash(from, digest))}
	if !e.compact() {
		a.seed = maphash.MakeSeed()
		a.sum = maphash.Bytes(a.seed, e.raw[SignatureLength:])
	}
	copy(a.sig[:], e.sig)
	return a
}

// parseEvent parses one wire entry for chatID exactly as status-go's
// MembershipUpdateEventFromProtobuf: length check, author recovery, then payload decoding.
// The returned error carries status-go's text.
func parseEvent(chatID string, raw []byte) (Event, error) {
	if len(raw) <= SignatureLength {
		return Event{}, errInvalidPayloadLength
	}
	digest := signingDigest(chatID, raw[SignatureLength:])
	from, err := recoverAuthor(digest, raw[:SignatureLength])
	if err != nil {
		return Event{}, fmt.Errorf("failed to extract signature: %w", err)
	}
	e := newEntry(raw)
	f, err := e.fields()
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		ChatID:      chatID,
		Clock:       f.clock,
		Type:        f.typ,
		Members:     f.members,
		Name:        f.name,
		Color:       f.color,
		Description: f.description,
		Image:       f.image,
		From:        from,
		Signature:   e.sig,
		Parents:     f.parents,
		Version:     f.version,
		EpochPrev:   f.epochPrev,
		entry:       e,
	}
	a := newAuth(chatID, e, digest, from, fieldsOf(&ev))
	a.fields.causalErr = f.causalErr
	ev.auth, ev.from = a, a.fromID
	return ev, nil
}

// fieldMembers is the field number of MembershipUpdateEvent.members.
const fieldMembers protowire.Number = 2

// verified returns the binding that makes ev's From the known author of Signature over
// Keccak256(chatID || payload), or nil when a recovery is needed. The binding's fields are
// those the payload decodes to, whatever ev's decoded fields say.
func (ev *Event) verified(chatID string) *authTag {
	a := ev.auth
	if a != nil && a.chatID == chatID && a.from == ev.From && a.entry == ev.entry && bytes.Equal(a.sig[:], ev.Signature) &&
		(ev.entry.compact() || maphash.Bytes(a.seed, ev.entry.raw[SignatureLength:]) == a.sum) {
		return a
	}
	return nil
}

// wire returns the wire entry Signature || payload.
func (ev *Event) wire() []byte { return ev.Raw() }

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// digest returns Keccak256(utf8(chatID) || payload).
func (ev *Event) digest(chatID string) [32]byte {
	if ev.entry == nil {
		return signingDigest(chatID, nil)
	}
	return ev.entry.digest(chatID)
}

// fields decodes the payload.
func (ev *Event) fields() (eventFields, error) {
	if ev.entry == nil {
		return decodeFields(nil)
	}
	return ev.entry.fields()
}

// samePayload reports whether ev and o have the same payload.
func (ev *Event) samePayload(o *Event) bool {
	switch {
	case ev.entry == o.entry:
		return true
	case ev.entry == nil || o.entry == nil:
		return ev.PayloadSize() == o.PayloadSize()
	case ev.entry.compact() && o.entry.compact():
		a, b := &ev.entry.c, &o.entry.c
		return bytes.Equal(a.head, b.head) && bytes.Equal(a.tail, b.tail) && bytes.Equal(a.keys, b.keys)
	case !o.entry.compact():
		return ev.entry.equalPayload(o.entry.raw[SignatureLength:])
	}
	return o.entry.equalPayload(ev.entry.raw[SignatureLength:])
}

// SamePayload reports whether ev and o have the same payload (without rendering either).
func (ev Event) SamePayload(o Event) bool { return ev.samePayload(&o) }
