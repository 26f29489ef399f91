package membership

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Chorus causal-rules fields of MembershipUpdateEvent. status-go declares fields 1-6 and
// Chorus 100; these numbers are unknown to status-go, which keeps them inside the signed
// payload. They are read and written with protowire (see membership_update_message.proto).
const (
	// FieldParents is `repeated bytes parents = 101`: each entry an EventID (32 bytes).
	FieldParents protowire.Number = 101
	// FieldVersion is `uint32 version = 102`, set to RulesCausal on a causal group's
	// CHAT_CREATED.
	FieldVersion protowire.Number = 102
	// FieldEpochPrev is `bytes epoch_prev = 103`: on a membership key event, the epoch prev
	// digest of the key block it rides with (epoch.MemberPrevDigest of the block's prev),
	// 32 bytes, so that the event's id commits to its key event's prev (spec "Frontier").
	FieldEpochPrev protowire.Number = 103
	// EpochPrevSize is the length of field 103.
	EpochPrevSize = 32

	// RulesCausal marks a group created under the causal rules (ChorusRules v2).
	RulesCausal = 2
	// MaxParents is the most parents an event may name.
	MaxParents = 64
)

// EventID names an event: its order hash H = SHA-256("chorus/v1/membership/order" || 0x00
// || author key string || Keccak256(chat id || payload)).
type EventID [32]byte

// String returns the id in hex.
func (id EventID) String() string { return fmt.Sprintf("%x", id[:]) }

// ID returns ev's event id. ev must have its ChatID, From and Payload set (a parsed or
// signed event).
func (ev Event) ID() EventID {
	if a := ev.verified(ev.ChatID); a != nil {
		return a.id // computed when the payload was verified
	}
	return EventID(orderHash(ev.From, ev.digest(ev.ChatID)))
}

var errCausalField = errors.New("membership: malformed parents or version field")

// causalFields are the Chorus fields 101, 102 and 103 of an event.
type causalFields struct {
	parents   []EventID
	version   uint32
	epochPrev []byte // field 103: nil, or EpochPrevSize bytes
}

// decodeCausal reads fields 101, 102 and 103 from the unknown fields of a decoded event. A
// parent that is not 32 bytes, a repeated parent, more than MaxParents parents, a version
// that is not a varint fitting 32 bits, or a field 101/102 of the wrong wire type is an
// error. A field 103 that is not 32 bytes, comes twice or has another wire type is no
// error: the event carries no epoch prev (the membership rules never read it, and versions
// before it apply such an event; the engine refuses its key block as uncommitted).
func decodeCausal(unknown []byte) (causalFields, error) {
	var parents []EventID
	var version uint32
	var epochPrev []byte
	epochPrevBad := false
	for len(unknown) > 0 {
		num, typ, n := protowire.ConsumeTag(unknown)
		if n < 0 {
			return causalFields{}, errCausalField
		}
		unknown = unknown[n:]
		switch {
		case num == FieldParents && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(unknown)
			if m < 0 || len(v) != len(EventID{}) || len(parents) >= MaxParents {
				return causalFields{}, errCausalField
			}
			id := EventID(v)
			for _, p := range parents {
				if p == id {
					return causalFields{}, errCausalField
				}
			}
			parents = append(parents, id)
			unknown = unknown[m:]
		case num == FieldVersion && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(unknown)
			if m < 0 || v > 1<<32-1 {
				return causalFields{}, errCausalField
			}
			version = uint32(v)
			unknown = unknown[m:]
		case num == FieldEpochPrev && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(unknown)
			if m < 0 {
				return causalFields{}, errCausalField
			}
			if len(v) != EpochPrevSize || epochPrev != nil {
				epochPrevBad = true
			} else {
				epochPrev = append(make([]byte, 0, EpochPrevSize), v...)
			}
			unknown = unknown[m:]
		case num == FieldEpochPrev: // another wire type
			m := protowire.ConsumeFieldValue(num, typ, unknown)
			if m < 0 {
				return causalFields{}, errCausalField
			}
			epochPrevBad = true
			unknown = unknown[m:]
		case num == FieldParents || num == FieldVersion:
			return causalFields{}, errCausalField
		default:
			m := protowire.ConsumeFieldValue(num, typ, unknown)
			if m < 0 {
				return causalFields{}, errCausalField
			}
			unknown = unknown[m:]
		}
	}
	if epochPrevBad {
		epochPrev = nil
	}
	return causalFields{parents: parents, version: version, epochPrev: epochPrev}, nil
}

// appendCausal appends fields 101 (each parent, in order), 102 (when non-zero) and 103
// (when set) to an encoded event.
func appendCausal(b []byte, parents []EventID, version uint32, epochPrev []byte) ([]byte, error) {
	if len(parents) > MaxParents || (len(epochPrev) != 0 && len(epochPrev) != EpochPrevSize) {
		return nil, errCausalField
	}
	for i, p := range parents {
		for _, q := range parents[:i] {
			if p == q {
				return nil, errCausalField
			}
		}
		b = protowire.AppendTag(b, FieldParents, protowire.BytesType)
		b = protowire.AppendBytes(b, p[:])
	}
	if version != 0 {
		b = protowire.AppendTag(b, FieldVersion, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(version))
	}
	if len(epochPrev) != 0 {
		b = protowire.AppendTag(b, FieldEpochPrev, protowire.BytesType)
		b = protowire.AppendBytes(b, epochPrev)
	}
	return b, nil
}
