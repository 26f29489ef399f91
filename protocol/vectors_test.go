package protocol

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/spec"
)

type vectorCase struct {
	Name         string `json:"name"`
	Expect       string `json:"expect"`
	Kind         string `json:"kind"`
	Secret       string `json:"secret"`
	InitSend     string `json:"initiator_send_hint"`
	InitRecv     string `json:"initiator_recv_hint"`
	Group        string `json:"group_id"`
	Installation string `json:"installation"`
	KeyID        string `json:"key_id"`
	Iteration    uint32 `json:"iteration"`
	MessageID    string `json:"message_id"`
	Hint         string `json:"hint"`
	Topic        string `json:"topic"`
	Nonce        string `json:"nonce"`
	Frame        string `json:"frame"`
	Payload      string `json:"payload"`
	Signed       string `json:"signed"`
	Digest       string `json:"digest"`
	AccountKey   string `json:"account_private"`
	Signature    string `json:"signature"`
	InstKey      string `json:"installation_private"`
	Card         string `json:"card"`
	Hash         string `json:"hash"`
	SPKPrivate   string `json:"spk_private"`
	EphPrivate   string `json:"ephemeral_private"`
	Header       string `json:"x3dh_header"`
	Message      string `json:"dr_message"`
	Index        uint64 `json:"index"`
	Plaintext    string `json:"plaintext"`
	Padded       string `json:"padded"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors checks the engine against spec/vectors/protocol.json, whose values were
// computed by an independent implementation of the spec (spec/gen/protocol).
func TestVectors(t *testing.T) {
	raw, err := spec.Vectors.ReadFile("vectors/protocol.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []vectorCase }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no vectors loaded")
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Kind {
			case "session_hints":
				send, recv := sessionHints([32]byte(unhex(t, c.Secret)), true)
				rs, rr := sessionHints([32]byte(unhex(t, c.Secret)), false)
				if hex.EncodeToString(send[:]) != c.InitSend || hex.EncodeToString(recv[:]) != c.InitRecv || rs != recv || rr != send {
					t.Fatal("hints differ")
				}
			case "message_id":
				id := messageID(GroupID(unhex(t, c.Group)), InstallationID(unhex(t, c.Installation)),
					senderkeys.KeyID(unhex(t, c.KeyID)), c.Iteration)
				if hex.EncodeToString(id[:]) != c.MessageID {
					t.Fatal("message id differs")
				}
			case "initial_slot_hint":
				hint := initialSlotHint(InstallationID(unhex(t, c.Installation)))
				if hex.EncodeToString(hint[:]) != c.Hint {
					t.Fatal("hint differs")
				}
			case "envelope_hash":
				hash := envelopeHash(c.Topic, unhex(t, c.Payload))
				if hex.EncodeToString(hash[:]) != c.Hash {
					t.Fatal("hash differs")
				}
			case "group_payload":
				aead, err := groupAEAD([32]byte(unhex(t, c.Secret)))
				if err != nil {
					t.Fatal(err)
				}
				gc := &groupCache{topic: c.Topic, aead: aead}
				fr, ok := openFrame(gc, unhex(t, c.Payload))
				if c.Expect != "success" {
					if ok {
						t.Fatal("tampered payload opened")
					}
					return
				}
				if !ok {
					t.Fatal("payload does not open")
				}
				got, _ := fr.Marshal()
				if !bytes.Equal(got, unhex(t, c.Frame)) {
					t.Fatal("frame differs")
				}
				nonce := unhex(t, c.Nonce)
				sealed, err := sealFrame(bytes.NewReader(nonce), gc, fr)
				if err != nil || !bytes.Equal(sealed, unhex(t, c.Payload)) {
					t.Fatal("sealing differs")
				}
			case "group_frame":
				fr, err := wire.ParseGroupFrame(unhex(t, c.Frame))
				if (err == nil) != (c.Expect == "success") {
					t.Fatalf("parse: %v", err)
				}
				if err == nil {
					if b, _ := fr.Marshal(); !bytes.Equal(b, unhex(t, c.Frame)) {
						t.Fatal("re-encoding differs")
					}
				}
			case "card_signature", "installation_binding":
				// the device list's signatures: walked by package devicelist
			case "initial_seal":
				spk, err := ecdh.X25519().NewPrivateKey(unhex(t, c.SPKPrivate))
				if err != nil {
					t.Fatal(err)
				}
				f, err := wire.ParseInboxFrame(unhex(t, c.Payload))
				if err != nil {
					t.Fatal(err)
				}
				p, err := unsealWith(spk, f)
				if c.Expect != "success" {
					if err == nil {
						t.Fatal("tampered frame opened")
					}
					return
				}
				if err != nil || !bytes.Equal(p.Header, unhex(t, c.Header)) || !bytes.Equal(p.Message, unhex(t, c.Message)) {
					t.Fatalf("unseal: %v", err)
				}
				eph, _ := ecdh.X25519().NewPrivateKey(unhex(t, c.EphPrivate))
				frame, err := sealInitialWith(eph, [32]byte(spk.PublicKey().Bytes()), p.Header, p.Message)
				if err != nil || !bytes.Equal(frame, unhex(t, c.Payload)) {
					t.Fatal("sealing differs")
				}
			case "announcement":
				key, err := crypto.ToECDSA(unhex(t, c.AccountKey))
				if err != nil {
					t.Fatal(err)
				}
				secret, pub := deriveAnnounceSecret(key), crypto.FromECDSAPub(&key.PublicKey)
				if !bytes.Equal(secret, unhex(t, c.Secret)) {
					t.Fatal("announcement secret differs")
				}
				if _, topic := announceKeys(pub, secret); topic != c.Topic {
					t.Fatalf("announcement topic %s, want %s", topic, c.Topic)
				}
				card, err := openAnnounce(pub, secret, unhex(t, c.Payload))
				if c.Expect != "success" {
					if err == nil {
						t.Fatal("tampered announcement opened")
					}
					return
				}
				if err != nil || !bytes.Equal(card, unhex(t, c.Card)) {
					t.Fatalf("open: %v", err)
				}
				sealed, _, err := sealAnnounce(bytes.NewReader(unhex(t, c.Nonce)), pub, secret, card)
				if err != nil || !bytes.Equal(sealed, unhex(t, c.Payload)) {
					t.Fatal("sealing differs")
				}
			case "contact_code":
				payload, err := contactCodePayload(unhex(t, c.Secret), unhex(t, c.Card))
				if err != nil || !bytes.Equal(payload, unhex(t, c.Payload)) {
					t.Fatalf("contact code payload differs: %v", err)
				}
				card, secret, err := parseContactCodePayload(payload)
				if err != nil || !bytes.Equal(card, unhex(t, c.Card)) || !bytes.Equal(secret, unhex(t, c.Secret)) {
					t.Fatalf("contact code parse: %v", err)
				}
			case "hint_chain":
				i, r := newHintChain([32]byte(unhex(t, c.Secret)), true), newHintChain([32]byte(unhex(t, c.Secret)), false)
				send, recv := hintAt(i.sendKey, c.Index), hintAt(i.recvKey, c.Index)
				if hex.EncodeToString(send[:]) != c.InitSend || hex.EncodeToString(recv[:]) != c.InitRecv ||
					hintAt(r.recvKey, c.Index) != send || hintAt(r.sendKey, c.Index) != recv {
					t.Fatal("hints differ")
				}
			case "inbox_padding":
				pt, err := wire.UnpadInbox(unhex(t, c.Padded))
				if c.Expect != "success" {
					if err == nil {
						t.Fatal("malformed padding accepted")
					}
					return
				}
				if err != nil || !bytes.Equal(pt, unhex(t, c.Plaintext)) || !bytes.Equal(wire.PadInbox(pt), unhex(t, c.Padded)) {
					t.Fatalf("padding differs: %v", err)
				}
			case "group_padding":
				f, err := wire.ParseFrameV2(unhex(t, c.Padded))
				if c.Expect != "success" {
					if err == nil {
						t.Fatal("malformed frame padding accepted")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				enc, err := f.Marshal()
				if err != nil || !bytes.Equal(enc, unhex(t, c.Padded)) || !bytes.HasPrefix(enc, unhex(t, c.Plaintext)) {
					t.Fatalf("padded frame differs: %v", err)
				}
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
}
