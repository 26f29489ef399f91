package membership

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/membership/pb"
)

// Message is a MembershipUpdateMessage: a chat id, signed events in wire order and an
// optional piggybacked chat entity (status-go sends every private-group chat message this
// way: the full event log plus the message).
type Message struct {
	ChatID string
	Events []Event
	// ChatMessage is the encoded status-go ChatMessage of oneof field 3 (nil: absent). It is
	// carried opaquely and re-encoded byte for byte.
	ChatMessage []byte
	// EmojiReaction is the encoded status-go EmojiReaction of oneof field 4 (nil: absent).
	EmojiReaction []byte

	unknown []byte // unknown fields of the message itself
	orig    *parsed
}

// parsed remembers the encoding a Message was parsed from, so that an unmodified parsed
// message re-encodes to exactly those bytes.
type parsed struct {
	raw           []byte
	chatID        string
	entries       [][]byte
	chatMessage   []byte
	emojiReaction []byte
}

// ParseMessage decodes a MembershipUpdateMessage and recovers every event's author, as
// status-go's proto.Unmarshal + MembershipUpdateMessageFromProtobuf: the first entry (in
// wire order) that is too short, whose signature does not recover or whose payload does not
// decode fails the whole message. Errors are *RejectError (StageProtobuf, StageEventParse).
func ParseMessage(b []byte) (*Message, error) {
	m, bad, err := decodeMessage(b, true)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, bad[0]
	}
	return m, nil
}

// decodeMessage decodes b. With strict set it stops at the first bad entry; otherwise it
// drops bad entries, reports them and keeps the others.
func decodeMessage(b []byte, strict bool) (*Message, []*RejectError, error) {
	var w pb.MembershipUpdateMessage
	if err := proto.Unmarshal(b, &w); err != nil {
		return nil, nil, reject(StageProtobuf, nil, err)
	}
	m := &Message{ChatID: w.ChatId, Events: make([]Event, 0, len(w.Events))}
	var bad []*RejectError
	for _, entry := range w.Events {
		ev, err := parseEvent(w.ChatId, entry)
		if err != nil {
			bad = append(bad, reject(StageEventParse, bytes.Clone(entry), err))
			if strict {
				return nil, bad, nil
			}
			continue
		}
		m.Events = append(m.Events, ev)
	}
	switch e := w.ChatEntity.(type) {
	case *pb.MembershipUpdateMessage_Message:
		m.ChatMessage = opaque(e.Message)
	case *pb.MembershipUpdateMessage_EmojiReaction:
		m.EmojiReaction = opaque(e.EmojiReaction)
	}
	m.unknown = bytes.Clone(w.ProtoReflect().GetUnknown())
	m.orig = &parsed{
		raw:           bytes.Clone(b),
		chatID:        m.ChatID,
		entries:       w.Events,
		chatMessage:   m.ChatMessage,
		emojiReaction: m.EmojiReaction,
	}
	return m, bad, nil
}

// opaque returns the encoding of an opaque message: its unknown fields, never nil.
func opaque(m proto.Message) []byte {
	return append([]byte{}, m.ProtoReflect().GetUnknown()...)
}

// MarshalBinary encodes m. A message returned by ParseMessage and not modified since
// re-encodes to exactly the bytes it was parsed from; otherwise m is encoded as status-go's
// proto.Marshal encodes the same content (chat_id, events as Signature || Payload in order,
// the chat entity, then preserved unknown fields), which is byte-identical to status-go's
// EncodeMembershipUpdateMessage.
func (m *Message) MarshalBinary() ([]byte, error) {
	if m.unchanged() {
		return bytes.Clone(m.orig.raw), nil
	}
	if m.ChatMessage != nil && m.EmojiReaction != nil {
		return nil, errors.New("membership: message carries both a chat message and an emoji reaction")
	}
	w := &pb.MembershipUpdateMessage{ChatId: m.ChatID}
	for i := range m.Events {
		ev := &m.Events[i]
		if len(ev.Signature) != SignatureLength || ev.PayloadSize() == 0 {
			return nil, fmt.Errorf("membership: event %d is not signed", i)
		}
		w.Events = append(w.Events, ev.wire())
	}
	switch {
	case m.ChatMessage != nil:
		cm := &pb.ChatMessage{}
		cm.ProtoReflect().SetUnknown(m.ChatMessage)
		w.ChatEntity = &pb.MembershipUpdateMessage_Message{Message: cm}
	case m.EmojiReaction != nil:
		er := &pb.EmojiReaction{}
		er.ProtoReflect().SetUnknown(m.EmojiReaction)
		w.ChatEntity = &pb.MembershipUpdateMessage_EmojiReaction{EmojiReaction: er}
	}
	if len(m.unknown) > 0 {
		w.ProtoReflect().SetUnknown(bytes.Clone(m.unknown))
	}
	return proto.Marshal(w)
}

// unchanged reports whether m still holds exactly what it was parsed from.
func (m *Message) unchanged() bool {
	o := m.orig
	if o == nil || m.ChatID != o.chatID || len(m.Events) != len(o.entries) ||
		!sameBytes(m.ChatMessage, o.chatMessage) || !sameBytes(m.EmojiReaction, o.emojiReaction) {
		return false
	}
	for i := range m.Events {
		e := o.entries[i]
		ev := &m.Events[i]
		if ev.entry == nil || len(e) != len(ev.Signature)+ev.PayloadSize() ||
			!bytes.Equal(e[:len(ev.Signature)], ev.Signature) || !ev.entry.equalPayload(e[len(ev.Signature):]) {
			return false
		}
	}
	return true
}

// sameBytes is bytes.Equal that also distinguishes nil (absent) from empty.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// StatusMessageType is ApplicationMetadataMessage.Type MEMBERSHIP_UPDATE_MESSAGE.
const StatusMessageType = int32(pb.ApplicationMetadataMessage_MEMBERSHIP_UPDATE_MESSAGE)

// WrapStatus wraps an encoded MembershipUpdateMessage as status-go's WrapMessageV1(payload,
// MEMBERSHIP_UPDATE_MESSAGE, signer): ApplicationMetadataMessage{signature =
// Sign(Keccak256(payload)), payload, type}. It returns the encoding and status-go's message
// id Keccak256(uncompressed signer key (65) || encoding).
func WrapStatus(payload []byte, signer *ecdsa.PrivateKey) ([]byte, [32]byte, error) {
	sig, err := crypto.Sign(crypto.Keccak256(payload), signer)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("membership: sign envelope: %w", err)
	}
	b, err := proto.Marshal(&pb.ApplicationMetadataMessage{
		Signature: sig,
		Payload:   payload,
		Type:      pb.ApplicationMetadataMessage_MEMBERSHIP_UPDATE_MESSAGE,
	})
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("membership: encode envelope: %w", err)
	}
	return b, statusMessageID(crypto.FromECDSAPub(&signer.PublicKey), b), nil
}

// UnwrapStatus parses an ApplicationMetadataMessage, recovers its signer and returns the
// payload, the message type, the signer key string and the message id.
func UnwrapStatus(b []byte) (payload []byte, typ int32, signer string, id [32]byte, err error) {
	var w pb.ApplicationMetadataMessage
	if err := proto.Unmarshal(b, &w); err != nil {
		return nil, 0, "", id, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pub, err := crypto.Ecrecover(crypto.Keccak256(w.Payload), w.Signature)
	if err != nil {
		return nil, 0, "", id, fmt.Errorf("%w: envelope signature: %w", ErrBadEvent, err)
	}
	return w.Payload, int32(w.Type), keyString(pub), statusMessageID(pub, b), nil
}

func statusMessageID(uncompressed, wrapped []byte) [32]byte {
	var id [32]byte
	copy(id[:], crypto.Keccak256(uncompressed, wrapped))
	return id
}
