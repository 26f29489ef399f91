// Package statussample is the JSON format of the status-go membership sample
// (spec/status-membership, a copy of shared/vectors/status-membership; see its README),
// read in one place for the conformance runner (cmd/chorus conformance) and the
// membership package's tests. Optional fields are pointers so that "absent" and "empty"
// stay distinct.
package statussample

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// ReadFile reads and decodes a sample file (its cases stay raw: DecodeCases).
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("statussample: %s: %w", path, err)
	}
	return &f, nil
}

// DecodeCases decodes every case of f.
func (f *File) DecodeCases() ([]Case, error) {
	out := make([]Case, len(f.Cases))
	for i, raw := range f.Cases {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("statussample: case %d: %w", i, err)
		}
	}
	return out, nil
}

// File is one sample file: its actors (named key pairs) and raw cases.
type File struct {
	Description string            `json:"description"`
	Actors      []Actor           `json:"actors"`
	Cases       []json.RawMessage `json:"cases"`
}

// Actor is a named key pair of the sample.
type Actor struct {
	Name          string `json:"name"`
	PrivateKeyHex string `json:"private_key_hex"`
	PublicKey     string `json:"public_key"`
}

// Case is one scenario: events, the messages carrying them, and what a receiver must
// conclude at each step.
type Case struct {
	ID       string    `json:"id"`
	ChatID   string    `json:"chat_id"`
	Receiver Receiver  `json:"receiver"`
	Events   []Event   `json:"events"`
	Messages []Message `json:"messages"`
	Steps    []Step    `json:"steps"`
}

// Receiver is the installation the steps are judged for.
type Receiver struct {
	Actor     string  `json:"actor"`
	PublicKey string  `json:"public_key"`
	NowMs     *uint64 `json:"now_ms"`
}

// Event is one membership event as status-go built and signed it.
type Event struct {
	ID               string          `json:"id"`
	Author           string          `json:"author"`
	AuthorPublicKey  string          `json:"author_public_key"`
	Type             string          `json:"type"`
	TypeValue        *int32          `json:"type_value"`
	Clock            *uint64         `json:"clock"`
	Members          *[]string       `json:"members"`
	Name             *string         `json:"name"`
	Color            *string         `json:"color"`
	ImageHex         *string         `json:"image_hex"`
	SignedChatID     *string         `json:"signed_chat_id"`
	PayloadHex       string          `json:"payload_hex"`
	SignatureHex     string          `json:"signature_hex"`
	RawHex           string          `json:"raw_hex"`
	MaterialHex      *string         `json:"signature_material_hex"`
	DigestHex        *string         `json:"signing_digest_keccak256_hex"`
	Tampering        json.RawMessage `json:"tampering"`
	SignedPayloadHex *string         `json:"signed_payload_hex"`
}

// Tampered reports whether the case marks the event as tampered with.
func (e *Event) Tampered() bool {
	t := strings.TrimSpace(string(e.Tampering))
	return t != "" && t != "null" && t != "false" && t != `""`
}

// Message is one membership update message (a set of events) with its envelope.
type Message struct {
	ID        string     `json:"id"`
	ChatID    *string    `json:"chat_id"`
	EventIDs  []string   `json:"event_ids"`
	Hex       string     `json:"membership_update_message_hex"`
	AppMeta   *AMM       `json:"application_metadata_message"`
	Piggyback *Piggyback `json:"piggybacked_chat_message"`
	// Bytes and DecodeErr are for the reader: the decoded Hex, and why the message
	// does not parse.
	Bytes     []byte `json:"-"`
	DecodeErr error  `json:"-"`
}

// AMM is the ApplicationMetadataMessage envelope of a message.
type AMM struct {
	Tampering    json.RawMessage `json:"tampering"`
	Signer       string          `json:"signer"`
	TypeValue    *int32          `json:"type_value"`
	SignatureHex *string         `json:"signature_hex"`
	Hex          *string         `json:"hex"`
	MessageIDHex *string         `json:"message_id_hex"`
}

// Piggyback is a chat message carried with a membership update.
type Piggyback struct {
	EncodedHex *string `json:"encoded_hex"`
}

// Step is one delivery and its expected outcome.
type Step struct {
	Deliver       string          `json:"deliver"`
	Group         *Outcome        `json:"group"`
	Handler       *Outcome        `json:"handler"`
	ReceiverAfter json.RawMessage `json:"receiver_state_after"`
}

// Outcome is what the group logic or the handler concluded.
type Outcome struct {
	Accepted      *bool   `json:"accepted"`
	Stage         *string `json:"stage"`
	FailedEventID *string `json:"failed_event_id"`
	Error         *string `json:"error"`
	State         *State  `json:"state"`
}

// State is a group state as status-go reports it.
type State struct {
	ChatID         *string         `json:"chat_id"`
	Creator        *string         `json:"creator"`
	Name           *string         `json:"name"`
	Color          *string         `json:"color"`
	ImageHex       *string         `json:"image_hex"`
	Members        *[]string       `json:"members"`
	Admins         *[]string       `json:"admins"`
	LastClockValue *uint64         `json:"last_clock_value"`
	EventOrder     *[]string       `json:"event_order"`
	Abridged       *[]string       `json:"abridged_event_ids"`
	WasEverMember  map[string]bool `json:"was_ever_member"`
}
