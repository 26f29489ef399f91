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

// decodeCausal reads fields 101 and 102 from the unknown fields of a decoded event. A
// parent that is not 32 bytes, a repeated parent, more than MaxParents parents, a version
// that is not a varint fitting 32 bits, or a field 101/102 of the wrong wire type is an
// error.
func decodeCausal(unknown []byte) ([]EventID, uint32, error) {
	var parents []EventID
	var version uint32
	for len(unknown) > 0 {
		num, typ, n := protowire.ConsumeTag(unknown)
		if n < 0 {
			return nil, 0, errCausalField
		}
		unknown = unknown[n:]
		switch {
		case num == FieldParents && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(unknown)
			if m < 0 || len(v) != len(EventID{}) || len(parents) >= MaxParents {
				return nil, 0, errCausalField
			}
			id := EventID(v)
			for _, p := range parents {
				if p == id {
					return nil, 0, errCausalField
				}
			}
			parents = append(parents, id)
			unknown = unknown[m:]
		case num == FieldVersion && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(unknown)
			if m < 0 || v > 1<<32-1 {
				return nil, 0, errCausalField
			}
			version = uint32(v)
			unknown = unknown[m:]
		case num == FieldParents || num == FieldVersion:
			return nil, 0, errCausalField
		default:
			m := protowire.ConsumeFieldValue(num, typ, unknown)
			if m < 0 {
				return nil, 0, errCausalField
			}
			unknown = unknown[m:]
		}
	}
	return parents, version, nil
}

// appendCausal appends fields 101 (each parent, in order) and 102 (when non-zero) to an
// encoded event.
func appendCausal(b []byte, parents []EventID, version uint32) ([]byte, error) {
	if len(parents) > MaxParents {
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
	return b, nil
}
