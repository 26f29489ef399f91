package wire

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
)

// ContentType identifies the content of a group message.
type ContentType uint8

// Content types.
const (
	// ContentText: body = UTF-8 text.
	ContentText ContentType = 1
	// ContentReply: body = target message id(32) || u32<UTF-8 text>.
	ContentReply ContentType = 2
	// ContentReaction: body = target message id(32) || u8<UTF-8 emoji> || removed(1).
	ContentReaction ContentType = 3
	// ContentMembership: body = u32<status MembershipUpdateMessage> || u32<list of u16<device list>>.
	ContentMembership ContentType = 4
	// ContentDevices: body = the sender account's device list (a device-list change,
	// multi-device).
	ContentDevices ContentType = 5
)

// GroupPlaintext is what a sender key seals:
//
//	version(1) || clock u64 || timestamp u64 (unix ms) || type(1) || u32<body> ||
//	u8<history entries, 32 bytes each>
//
// The sender is not named: the key id of the senderkeys message identifies the sending
// installation (bound by the owner's signature over the distribution), whose account is
// bound by its device list.
type GroupPlaintext struct {
	Clock     uint64
	Timestamp uint64
	Type      ContentType
	Body      []byte
	History   [][HistoryEntrySize]byte
}

// Marshal encodes p.
func (p *GroupPlaintext) Marshal() ([]byte, error) {
	return marshalPlaintext(Version, p.Clock, p.Timestamp, p.Type, p.Body, len(p.History), func(i int) []byte { return p.History[i][:] })
}

// ParseGroupPlaintext decodes a GroupPlaintext. The body is checked by the parser of its
// type (ParseText, ParseReply, ParseReaction, ParseMembership).
func ParseGroupPlaintext(in []byte) (*GroupPlaintext, error) {
	p := &GroupPlaintext{}
	hist, err := parsePlaintext(in, Version, HistoryEntrySize, &p.Clock, &p.Timestamp, &p.Type, &p.Body)
	if err != nil {
		return nil, err
	}
	for !hist.Empty() {
		var h [HistoryEntrySize]byte
		readFixed(&hist, h[:])
		p.History = append(p.History, h)
	}
	return p, nil
}

// marshalPlaintext encodes the fields of a group plaintext of the given version, with n
// causal-history entries (entry(i) is the i-th, of the version's entry size).
func marshalPlaintext(version uint8, clock, ts uint64, typ ContentType, body []byte, n int, entry func(int) []byte) ([]byte, error) {
	if n > MaxHistory {
		return nil, ErrTooLarge
	}
	// Appended into one buffer of the exact size (this is every group send).
	hist := 0
	for i := range n {
		hist += len(entry(i))
	}
	if hist > math.MaxUint8 || uint64(len(body)) > math.MaxUint32 {
		return nil, ErrTooLarge
	}
	out := make([]byte, 0, 1+8+8+1+4+len(body)+1+hist)
	out = append(out, version)
	out = binary.BigEndian.AppendUint64(out, clock)
	out = binary.BigEndian.AppendUint64(out, ts)
	out = append(out, uint8(typ))
	out = appendVec32(out, body)
	out = append(out, uint8(hist))
	for i := range n {
		out = append(out, entry(i)...)
	}
	return out, nil
}

// parsePlaintext decodes the fields of a group plaintext of the given version and returns
// its causal-history entries (a whole number of entries of size bytes, at most MaxHistory).
func parsePlaintext(in []byte, version uint8, size int, clock, ts *uint64, typ *ContentType, body *[]byte) (cryptobyte.String, error) {
	s := cryptobyte.String(in)
	var v, t uint8
	var hist cryptobyte.String
	if !s.ReadUint8(&v) || v != version || !s.ReadUint64(clock) || !s.ReadUint64(ts) ||
		!s.ReadUint8(&t) || t < uint8(ContentText) || t > uint8(ContentDevices) ||
		!readVec32(&s, body) || !s.ReadUint8LengthPrefixed(&hist) || !s.Empty() ||
		len(hist)%size != 0 || len(hist)/size > MaxHistory {
		return nil, ErrMalformed
	}
	*typ = ContentType(t)
	return hist, nil
}

// ParseText checks a text body (valid UTF-8) and returns it.
func ParseText(body []byte) (string, error) {
	if !utf8.Valid(body) {
		return "", ErrMalformed
	}
	return string(body), nil
}

// Reply is the body of a reply.
type Reply struct {
	Target [32]byte
	Text   string
}

// Marshal encodes r.
func (r *Reply) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddBytes(r.Target[:])
	addVec32(&b, []byte(r.Text))
	return finish(&b)
}

// ParseReply decodes a reply body.
func ParseReply(in []byte) (*Reply, error) {
	s := cryptobyte.String(in)
	r := &Reply{}
	var text []byte
	if !readFixed(&s, r.Target[:]) || !readVec32(&s, &text) || !s.Empty() || !utf8.Valid(text) {
		return nil, ErrMalformed
	}
	r.Text = string(text)
	return r, nil
}

// Reaction is the body of a reaction.
type Reaction struct {
	Target  [32]byte
	Emoji   string
	Removed bool
}

// Marshal encodes r.
func (r *Reaction) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddBytes(r.Target[:])
	addVec8(&b, []byte(r.Emoji))
	b.AddUint8(boolByte(r.Removed))
	return finish(&b)
}

// ParseReaction decodes a reaction body.
func ParseReaction(in []byte) (*Reaction, error) {
	s := cryptobyte.String(in)
	r := &Reaction{}
	var emoji []byte
	if !readFixed(&s, r.Target[:]) || !readVec8(&s, &emoji) || !readBool(&s, &r.Removed) ||
		!s.Empty() || len(emoji) == 0 || !utf8.Valid(emoji) {
		return nil, ErrMalformed
	}
	r.Emoji = string(emoji)
	return r, nil
}

// Membership is the body of a membership update: Status-format MembershipUpdateMessage
// bytes (the new events, chorus rules) and the device lists of added members.
type Membership struct {
	Update      []byte
	DeviceLists [][]byte
}

// Marshal encodes m.
func (m *Membership) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	addVec32(&b, m.Update)
	addList16(&b, m.DeviceLists)
	return finish(&b)
}

// ParseMembership decodes a membership body.
func ParseMembership(in []byte) (*Membership, error) {
	s := cryptobyte.String(in)
	m := &Membership{}
	if !readVec32(&s, &m.Update) || !readList16(&s, MaxWelcomeItems, &m.DeviceLists) || !s.Empty() || len(m.Update) == 0 {
		return nil, ErrMalformed
	}
	return m, nil
}

// GroupPlaintextV2 is what a v2 group message (key schedule v2) seals: the fields of
// GroupPlaintext with version 0x02 and short causal-history entries:
//
//	0x02 || clock u64 || timestamp u64 (unix ms) || type(1) || u32<body> ||
//	u8<history entries, 16 bytes each: installation id[0:8] || message id[0:8]>
type GroupPlaintextV2 struct {
	Clock     uint64
	Timestamp uint64
	Type      ContentType
	Body      []byte
	History   [][ShortEntrySize]byte
}

// Marshal encodes p.
func (p *GroupPlaintextV2) Marshal() ([]byte, error) {
	return marshalPlaintext(Version2, p.Clock, p.Timestamp, p.Type, p.Body, len(p.History), func(i int) []byte { return p.History[i][:] })
}

// ParseGroupPlaintextV2 decodes a GroupPlaintextV2 (the body is checked by the parser of
// its type).
func ParseGroupPlaintextV2(in []byte) (*GroupPlaintextV2, error) {
	p := &GroupPlaintextV2{}
	hist, err := parsePlaintext(in, Version2, ShortEntrySize, &p.Clock, &p.Timestamp, &p.Type, &p.Body)
	if err != nil {
		return nil, err
	}
	// One allocation at the entries' count (parsePlaintext checked it is whole and at
	// most MaxHistory), not one per doubling.
	if n := len(hist) / ShortEntrySize; n > 0 {
		p.History = make([][ShortEntrySize]byte, n)
		for i := range p.History {
			readFixed(&hist, p.History[i][:])
		}
	}
	return p, nil
}

// Common returns p's fields as a GroupPlaintext without history.
func (p *GroupPlaintextV2) Common() *GroupPlaintext {
	return &GroupPlaintext{Clock: p.Clock, Timestamp: p.Timestamp, Type: p.Type, Body: p.Body}
}
