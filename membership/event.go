package membership

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"unsafe"

	"github.com/ethereum/go-ethereum/crypto"
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
// Payload is the encoded MembershipUpdateEvent exactly as signed (unknown fields included);
// Signature is the 65-byte R||S||V signature over Keccak256(utf8(ChatID) || Payload); Raw is
// the wire entry Signature || Payload; From is the recovered author key string. The decoded
// fields (Clock ... Description) are informational copies of Payload: encodings, signature
// checks and the rules (Derive, Update) always use Payload, never decoded fields that differ.
//
// Signature, Payload and Raw are never modified in place (copy them to change them): in an
// event parsed or signed by this package they are one block (Signature and Payload Raw's
// two parts) and the Members share Payload's bytes (a large group's MEMBERS_ADDED would
// otherwise hold its member list two or three times for as long as its state is kept).
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
	Payload     []byte
	Raw         []byte
	// Parents (Chorus causal rules, field 101) are the ids of the events the author had
	// applied and that no other applied event names as a parent (its heads) when it signed.
	Parents []EventID
	// Version (field 102) is RulesCausal on the CHAT_CREATED of a group under the causal
	// rules, 0 otherwise.
	Version uint32

	// auth records that this package recovered From from Signature over digest, so that
	// Derive need not recover it again while Signature, Payload and From are unchanged.
	auth *authTag
}

// authTag is a recovered (chat id, payload, signature) -> author binding, with the fields
// the payload decodes to. It holds private copies of the signature and fields, and the
// payload's length and keyed hash (seed is random per tag), so later changes to the
// event's slices are detected without a second copy of the payload (a large group's
// creation event lists every member: keeping it twice per client was most of its heap).
type authTag struct {
	chatID string
	size   int
	seed   maphash.Seed
	sum    uint64 // maphash.Bytes(seed, payload)
	sig    [SignatureLength]byte
	digest [32]byte
	from   string
	fields eventFields
	id     EventID // orderHash(from, digest)
}

// eventFields are the decoded fields of an event payload.
type eventFields struct {
	clock       uint64
	typ         EventType
	members     []string
	name        string
	color       string
	description string
	image       []byte
	parents     []EventID
	version     uint32
	// causalErr: fields 101/102 are present but malformed (the causal rules discard the event).
	causalErr bool
	// inPayload: members are not held (nil); they are those the payload lists (a binding's
	// fields: its payload is checked unchanged before they are used; a large group's
	// member list is not held a second time).
	inPayload bool
}

// fieldsOf returns private copies of ev's decoded fields, but for a long member list,
// which is to be the one its payload lists.
func fieldsOf(ev *Event) eventFields {
	f := eventFields{clock: ev.Clock, typ: ev.Type, name: ev.Name,
		color: ev.Color, description: ev.Description, image: bytes.Clone(ev.Image),
		parents: slices.Clone(ev.Parents), version: ev.Version}
	if len(ev.Members.ids) > inPayloadMembers {
		f.inPayload = true
	} else {
		f.members = cloneStrings(ev.Members.ids)
	}
	return f
}

// inPayloadMembers is the longest member list a binding copies: comparing with a copy is
// cheaper than walking the payload (Derive checks every event's binding), and a short
// list's copy is small.
const inPayloadMembers = 16

// decodeFields decodes an event payload.
func decodeFields(payload []byte) (eventFields, error) {
	var m pb.MembershipUpdateEvent
	if err := proto.Unmarshal(payload, &m); err != nil {
		return eventFields{}, err
	}
	f := eventFields{clock: m.Clock, typ: EventType(m.Type), members: m.Members, name: m.Name,
		color: m.Color, description: string(m.Description), image: m.Image}
	var err error
	if f.parents, f.version, err = decodeCausal(m.ProtoReflect().GetUnknown()); err != nil {
		f.causalErr = true
	}
	return f, nil
}

// bind makes ev's decoded fields those of f (copies), unless they already are. With
// f.inPayload, ev.Payload must be the payload f was decoded from.
func (f *eventFields) bind(ev *Event) {
	members := slices.Equal(ev.Members.ids, f.members)
	if f.inPayload {
		members = payloadLists(ev.Payload, ev.Members.ids)
	}
	if ev.Clock == f.clock && ev.Type == f.typ && members && ev.Name == f.name &&
		ev.Color == f.color && ev.Description == f.description && bytes.Equal(ev.Image, f.image) &&
		slices.Equal(ev.Parents, f.parents) && ev.Version == f.version {
		return
	}
	ev.Clock, ev.Type, ev.Name, ev.Color, ev.Description = f.clock, f.typ, f.name, f.color, f.description
	ev.Members.ids, ev.Image = cloneStrings(f.members), bytes.Clone(f.image)
	if f.inPayload && !members {
		ev.Members.ids = payloadMembers(ev.Payload)
	}
	ev.Parents, ev.Version = slices.Clone(f.parents), f.version
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
		Members: ev.Members.ids,
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
	return appendCausal(b, ev.Parents, ev.Version)
}

// SignEvent encodes ev's fields (Clock, Type, Members, Name, Color, Image, Description, then
// the Chorus Parents and Version) as status-go does, signs them for chatID with key and returns the event with ChatID,
// Payload, Signature, Raw and From filled. The signature is deterministic (RFC 6979), so
// the result is byte-identical to what status-go builds for the same inputs.
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
	// One block, as parseEvent's: Signature and Payload are the entry's two parts, and the
	// members share Payload's bytes (issue 16: an admin adding many members kept the
	// payload, the entry as a second copy of it and the caller's strings).
	raw := append(append(make([]byte, 0, len(sig)+len(payload)), sig...), payload...) // sig: 65 bytes (crypto.Sign)
	ev.ChatID = chatID
	ev.Raw = raw
	ev.Signature = raw[:SignatureLength:SignatureLength]
	ev.Payload = raw[SignatureLength:]
	ev.From = PublicKeyString(&key.PublicKey)
	ev.Members.ids = cloneStrings(ev.Members.ids)
	shareMembers(ev.Payload, ev.Members.ids)
	ev.Image = bytes.Clone(ev.Image)
	ev.auth = newAuth(chatID, ev.Payload, digest, ev.Signature, ev.From, fieldsOf(&ev))
	return ev, nil
}

func newAuth(chatID string, payload []byte, digest [32]byte, sig []byte, from string, fields eventFields) *authTag {
	a := &authTag{chatID: chatID, size: len(payload), seed: maphash.MakeSeed(), digest: digest, from: from, fields: fields,
		id: EventID(orderHash(from, digest))}
	a.sum = maphash.Bytes(a.seed, payload)
	copy(a.sig[:], sig)
	return a
}

// parseEvent parses one wire entry for chatID exactly as status-go's
// MembershipUpdateEventFromProtobuf: length check, author recovery, then payload decoding.
// The returned error carries status-go's text.
func parseEvent(chatID string, raw []byte) (Event, error) {
	if len(raw) <= SignatureLength {
		return Event{}, errInvalidPayloadLength
	}
	raw = bytes.Clone(raw)
	sig := raw[:SignatureLength:SignatureLength]
	payload := raw[SignatureLength:]
	digest := signingDigest(chatID, payload)
	from, err := recoverAuthor(digest, sig)
	if err != nil {
		return Event{}, fmt.Errorf("failed to extract signature: %w", err)
	}
	f, err := decodeFields(payload)
	if err != nil {
		return Event{}, err
	}
	shareMembers(payload, f.members)
	ev := Event{
		ChatID:      chatID,
		Clock:       f.clock,
		Type:        f.typ,
		Members:     membersOwn(f.members),
		Name:        f.name,
		Color:       f.color,
		Description: f.description,
		Image:       f.image,
		From:        from,
		Signature:   sig,
		Payload:     payload,
		Raw:         raw,
		Parents:     f.parents,
		Version:     f.version,
	}
	a := newAuth(chatID, payload, digest, sig, from, fieldsOf(&ev))
	a.fields.causalErr = f.causalErr
	ev.auth = a
	return ev, nil
}

// shareMembers replaces members, decoded from payload (field 2, in order), by strings
// that share payload's bytes. payload must be private to the event and never modified
// (parseEvent's copy): a Go string must not change. A member that does not match its
// entry keeps its decoded string.
func shareMembers(payload []byte, members []string) {
	i := 0
	eachMember(payload, func(v []byte) bool {
		if i >= len(members) {
			return false
		}
		if len(v) > 0 && string(v) == members[i] {
			members[i] = unsafe.String(&v[0], len(v))
		}
		i++
		return true
	})
}

// fieldMembers is the field number of MembershipUpdateEvent.members.
const fieldMembers protowire.Number = 2

// eachMember calls f with each member entry of a payload that decodes (in order) until f
// returns false; it reports whether the walk ended at the end of the payload.
func eachMember(payload []byte, f func(v []byte) bool) bool {
	for b := payload; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num == fieldMembers && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || !f(v) {
				return false
			}
			b = b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// payloadLists reports whether members are the members a payload (that decodes) lists.
func payloadLists(payload []byte, members []string) bool {
	i := 0
	ok := eachMember(payload, func(v []byte) bool {
		if i >= len(members) || string(v) != members[i] {
			return false
		}
		i++
		return true
	})
	return ok && i == len(members)
}

// payloadMembers returns the members a payload (that decodes) lists (copies; nil: none).
func payloadMembers(payload []byte) []string {
	var out []string
	eachMember(payload, func(v []byte) bool {
		out = append(out, string(v))
		return true
	})
	return out
}

// verified returns the binding that makes ev's From the known author of Signature over
// Keccak256(chatID || Payload), or nil when a recovery is needed. The binding's fields are
// those Payload decodes to, whatever ev's decoded fields say.
func (ev *Event) verified(chatID string) *authTag {
	a := ev.auth
	if a != nil && a.chatID == chatID && a.from == ev.From && bytes.Equal(a.sig[:], ev.Signature) && len(ev.Payload) == a.size &&
		maphash.Bytes(a.seed, ev.Payload) == a.sum {
		return a
	}
	return nil
}

// wire returns the wire entry Signature || Payload.
func (ev *Event) wire() []byte {
	out := make([]byte, 0, len(ev.Signature)+len(ev.Payload))
	return append(append(out, ev.Signature...), ev.Payload...)
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
