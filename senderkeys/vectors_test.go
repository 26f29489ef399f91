package senderkeys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/spec"
	"github.com/ethereum/go-ethereum/crypto"
)

type vectorGap struct {
	KeyID string `json:"key_id"`
	From  uint32 `json:"from"`
	To    uint32 `json:"to"`
}

type vectorCase struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Expect string `json:"expect"`

	SenderState      string `json:"sender_state"`
	SenderStateAfter string `json:"sender_state_after"`
	InstallationKey  string `json:"installation_private_key"`

	Group                  string      `json:"group"`
	Installation           string      `json:"installation"`
	InstallationSigningKey string      `json:"installation_signing_key"`
	Distributions          []string    `json:"distributions"`
	Setup                  []string    `json:"setup"`
	Distribution           string      `json:"distribution"`
	Forwarded              []string    `json:"forwarded"`
	Message                string      `json:"message"`
	Plaintext              *string     `json:"plaintext"`
	Gaps                   []vectorGap `json:"gaps"`
	ReceiverStateAfter     string      `json:"receiver_state_after"`
}

// expectErrors maps the vectors' expect classes to sentinel errors.
var expectErrors = map[string]error{
	"success":             nil,
	"malformed":           ErrMalformed,
	"unsupported_version": ErrUnsupportedVersion,
	"unknown_key":         ErrUnknownKey,
	"bad_signature":       ErrBadSignature,
	"decrypt_failed":      ErrDecrypt,
	"replay":              ErrReplay,
	"too_far_ahead":       ErrTooFarAhead,
	"mismatch":            ErrDistributionMismatch,
	"stale_distribution":  ErrStaleDistribution,
}

func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	raw, err := spec.Vectors.ReadFile("vectors/senderkeys.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Description string       `json:"description"`
		Cases       []vectorCase `json:"cases"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no senderkeys vectors loaded")
	}
	return f.Cases
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectors(t *testing.T) {
	cases := loadVectors(t)
	ops := map[string]int{}
	for _, c := range cases {
		ops[c.Op]++
		t.Run(c.Name, func(t *testing.T) {
			want, ok := expectErrors[c.Expect]
			if !ok {
				t.Fatalf("unknown expect class %q", c.Expect)
			}
			switch c.Op {
			case "seal":
				vectorSeal(t, c)
			case "distribution":
				vectorDistribution(t, c)
			case "open":
				r := vectorReceiver(t, c)
				vectorOpen(t, c, r, want)
			case "process":
				r := vectorReceiver(t, c)
				d, err := ParseDistribution(unhex(t, c.Distribution))
				if err != nil {
					// Parsing is part of processing: a distribution that does not parse
					// fails with its class (malformed, unsupported_version).
					if want == nil || !errors.Is(err, want) {
						t.Fatalf("ParseDistribution: %v, want %s", err, c.Expect)
					}
					return
				}
				if want != nil {
					processFails(t, r, d, want)
					return
				}
				process(t, r, d)
				vectorAfter(t, c, r)
			case "forward":
				r := vectorReceiver(t, c)
				fw := r.Forward()
				if len(fw) != len(c.Forwarded) {
					t.Fatalf("%d forwarded, want %d", len(fw), len(c.Forwarded))
				}
				newcomer := vectorReceiver(t, vectorCase{Group: c.Group, Installation: c.Installation,
					InstallationSigningKey: c.InstallationSigningKey})
				for i, d := range fw {
					if !bytes.Equal(marshal(t, d), unhex(t, c.Forwarded[i])) {
						t.Fatalf("forwarded distribution %d differs", i)
					}
					p, err := ParseDistribution(unhex(t, c.Forwarded[i]))
					if err != nil {
						t.Fatal(err)
					}
					process(t, newcomer, p)
				}
				vectorOpen(t, c, newcomer, want)
			default:
				t.Fatalf("unknown op %q", c.Op)
			}
		})
	}
	for _, op := range []string{"seal", "distribution", "open", "process", "forward"} {
		if ops[op] == 0 {
			t.Errorf("no %q vectors", op)
		}
	}
}

func vectorSeal(t *testing.T, c vectorCase) {
	var s Sender
	if err := s.UnmarshalBinary(unhex(t, c.SenderState)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshal(t, &s), unhex(t, c.SenderState)) {
		t.Fatal("sender state does not re-encode identically")
	}
	msg, err := s.Seal(unhex(t, *c.Plaintext))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg, unhex(t, c.Message)) {
		t.Fatalf("Seal = %x\nwant   %s", msg, c.Message)
	}
	if !bytes.Equal(marshal(t, &s), unhex(t, c.SenderStateAfter)) {
		t.Fatal("sender state after Seal differs")
	}
}

func vectorDistribution(t *testing.T, c vectorCase) {
	var s Sender
	if err := s.UnmarshalBinary(unhex(t, c.SenderState)); err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ToECDSA(unhex(t, c.InstallationKey))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(crypto.CompressPubkey(&key.PublicKey), unhex(t, c.InstallationSigningKey)) {
		t.Fatal("installation key pair mismatch")
	}
	d, err := s.Distribution(key, [16]byte(unhex(t, c.Installation)))
	if err != nil {
		t.Fatal(err)
	}
	if got := marshal(t, d); !bytes.Equal(got, unhex(t, c.Distribution)) {
		t.Fatalf("Distribution = %x\nwant           %s", got, c.Distribution)
	}
	p, err := ParseDistribution(unhex(t, c.Distribution))
	if err != nil {
		t.Fatal(err)
	}
	process(t, vectorReceiver(t, vectorCase{Group: c.Group, Installation: c.Installation,
		InstallationSigningKey: c.InstallationSigningKey}), p)
}

// vectorReceiver builds the case's receiver: distributions processed, setup opened.
func vectorReceiver(t *testing.T, c vectorCase) *Receiver {
	t.Helper()
	r := NewReceiver(unhex(t, c.Group), [16]byte(unhex(t, c.Installation)), [33]byte(unhex(t, c.InstallationSigningKey)))
	for _, d := range c.Distributions {
		p, err := ParseDistribution(unhex(t, d))
		if err != nil {
			t.Fatal(err)
		}
		process(t, r, p)
	}
	for _, m := range c.Setup {
		if _, err := r.Open(unhex(t, m)); err != nil {
			t.Fatalf("setup message: %v", err)
		}
	}
	return r
}

func vectorOpen(t *testing.T, c vectorCase, r *Receiver, want error) {
	t.Helper()
	msg := unhex(t, c.Message)
	if want != nil {
		openFails(t, r, msg, want)
		_, err := r.Open(msg)
		for class, other := range expectErrors {
			if other != nil && other != want && errors.Is(err, other) {
				t.Fatalf("error %v also matches class %s", err, class)
			}
		}
		return
	}
	pt, err := r.Open(msg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Plaintext == nil || !bytes.Equal(pt, unhex(t, *c.Plaintext)) {
		t.Fatalf("plaintext %x", pt)
	}
	vectorAfter(t, c, r)
}

func vectorAfter(t *testing.T, c vectorCase, r *Receiver) {
	t.Helper()
	var got []vectorGap
	for _, g := range r.Gaps() {
		got = append(got, vectorGap{KeyID: hex.EncodeToString(g.KeyID[:]), From: g.From, To: g.To})
	}
	if len(got) != len(c.Gaps) {
		t.Fatalf("gaps %v, want %v", got, c.Gaps)
	}
	for i := range got {
		if got[i] != c.Gaps[i] {
			t.Fatalf("gaps %v, want %v", got, c.Gaps)
		}
	}
	if c.ReceiverStateAfter != "" && !bytes.Equal(marshal(t, r), unhex(t, c.ReceiverStateAfter)) {
		t.Fatal("receiver state differs")
	}
}
