package main

import (
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/membership"
)

// The JSON format of shared/vectors/status-membership (see its README). Optional fields are
// pointers so that "absent" and "empty" stay distinct.
type vecFile struct {
	Description string            `json:"description"`
	Actors      []vecActor        `json:"actors"`
	Cases       []json.RawMessage `json:"cases"`
}

type vecActor struct {
	Name          string `json:"name"`
	PrivateKeyHex string `json:"private_key_hex"`
	PublicKey     string `json:"public_key"`
}

type vecCase struct {
	ID       string       `json:"id"`
	ChatID   string       `json:"chat_id"`
	Receiver vecReceiver  `json:"receiver"`
	Events   []vecEvent   `json:"events"`
	Messages []vecMessage `json:"messages"`
	Steps    []vecStep    `json:"steps"`
}

type vecReceiver struct {
	Actor     string  `json:"actor"`
	PublicKey string  `json:"public_key"`
	NowMs     *uint64 `json:"now_ms"`
}

type vecEvent struct {
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

func (e *vecEvent) tampered() bool {
	t := strings.TrimSpace(string(e.Tampering))
	return t != "" && t != "null" && t != "false" && t != `""`
}

type vecMessage struct {
	ID         string    `json:"id"`
	ChatID     *string   `json:"chat_id"`
	EventIDs   []string  `json:"event_ids"`
	Hex        string    `json:"membership_update_message_hex"`
	AppMeta    *vecAMM   `json:"application_metadata_message"`
	Piggyback  *vecPiggy `json:"piggybacked_chat_message"`
	bytes      []byte
	decodedErr error
}

type vecAMM struct {
	Tampering    json.RawMessage `json:"tampering"`
	Signer       string          `json:"signer"`
	TypeValue    *int32          `json:"type_value"`
	SignatureHex *string         `json:"signature_hex"`
	Hex          *string         `json:"hex"`
	MessageIDHex *string         `json:"message_id_hex"`
}

type vecPiggy struct {
	EncodedHex *string `json:"encoded_hex"`
}

type vecStep struct {
	Deliver       string          `json:"deliver"`
	Group         *vecOutcome     `json:"group"`
	Handler       *vecOutcome     `json:"handler"`
	ReceiverAfter json.RawMessage `json:"receiver_state_after"`
}

type vecOutcome struct {
	Accepted      *bool     `json:"accepted"`
	Stage         *string   `json:"stage"`
	FailedEventID *string   `json:"failed_event_id"`
	Error         *string   `json:"error"`
	State         *vecState `json:"state"`
}

type vecState struct {
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

// actor is a named key pair of the vectors.
type actor struct {
	name string
	key  *ecdsa.PrivateKey
	pub  string
}

// loadActors parses the actors; a bad entry is reported (and fails every case of the file).
func loadActors(list []vecActor) (map[string]*actor, []string) {
	out := make(map[string]*actor, len(list))
	var problems []string
	for i, a := range list {
		b, err := hex.DecodeString(a.PrivateKeyHex)
		if err != nil {
			problems = append(problems, fmt.Sprintf("actor %d (%s): private_key_hex: %v", i, a.Name, err))
			continue
		}
		key, err := crypto.ToECDSA(b)
		if err != nil {
			problems = append(problems, fmt.Sprintf("actor %d (%s): %v", i, a.Name, err))
			continue
		}
		pub := membership.PublicKeyString(&key.PublicKey)
		if a.PublicKey != "" && a.PublicKey != pub {
			problems = append(problems, fmt.Sprintf("actor %s: public_key: expected %s, got %s", a.Name, a.PublicKey, pub))
		}
		out[a.Name] = &actor{name: a.Name, key: key, pub: pub}
	}
	return out, problems
}

// unhex decodes a lowercase hex field, recording a problem on failure.
func (c *checker) unhex(field, s string) ([]byte, bool) {
	b, err := hex.DecodeString(s)
	if err != nil {
		c.failf("malformed case: %s: %v", field, err)
		return nil, false
	}
	return b, true
}
