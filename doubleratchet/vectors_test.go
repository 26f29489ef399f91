package doubleratchet

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/spec"
)

type vectorStep struct {
	Party     string `json:"party"`
	Op        string `json:"op"`
	Expect    string `json:"expect"`
	Count     int    `json:"count"`
	Plaintext string `json:"plaintext"`
	Message   string `json:"message"`
	AD        string `json:"ad"`
}

type vectorCase struct {
	Name                    string       `json:"name"`
	Expect                  string       `json:"expect"`
	SharedSecret            string       `json:"shared_secret"`
	ResponderRatchetPrivate string       `json:"responder_ratchet_private"`
	ResponderRatchetPublic  string       `json:"responder_ratchet_public"`
	InitiatorRand           string       `json:"initiator_rand"`
	ResponderRand           string       `json:"responder_rand"`
	AD                      string       `json:"ad"`
	Steps                   []vectorStep `json:"steps"`
}

// expectErrors maps the vectors' expect classes to sentinel errors.
var expectErrors = map[string]error{
	"success":             nil,
	"decrypt_failed":      ErrDecrypt,
	"replay":              ErrReplay,
	"too_far_ahead":       ErrTooFarAhead,
	"no_sending_chain":    ErrNoSendingChain,
	"malformed":           ErrMalformed,
	"unsupported_version": ErrVersion,
}

func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	data, err := spec.Vectors.ReadFile("vectors/doubleratchet.json")
	if err != nil {
		t.Fatalf("doubleratchet vectors: %v", err)
	}
	var f struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("doubleratchet vectors: zero cases")
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
	classes := map[string]int{}
	for _, c := range loadVectors(t) {
		t.Run(c.Name, func(t *testing.T) {
			classes[c.Expect]++
			runVector(t, c)
		})
	}
	for class := range expectErrors {
		if classes[class] == 0 {
			t.Errorf("no vector with expect class %q", class)
		}
	}
}

func runVector(t *testing.T, c vectorCase) {
	sk := [32]byte(unhex(t, c.SharedSecret))
	priv, err := ecdh.X25519().NewPrivateKey(unhex(t, c.ResponderRatchetPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(priv.PublicKey().Bytes()) != c.ResponderRatchetPublic {
		t.Fatal("responder ratchet public key does not match the private key")
	}
	rands := map[string]*bytes.Reader{
		"initiator": bytes.NewReader(unhex(t, c.InitiatorRand)),
		"responder": bytes.NewReader(unhex(t, c.ResponderRand)),
	}
	ini, err := NewInitiator(rands["initiator"], sk, [32]byte(unhex(t, c.ResponderRatchetPublic)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewResponder(sk, priv)
	if err != nil {
		t.Fatal(err)
	}
	sessions := map[string]*Session{"initiator": ini, "responder": res}
	caseAD := unhex(t, c.AD)
	if len(c.Steps) == 0 || c.Steps[len(c.Steps)-1].Expect != c.Expect {
		t.Fatal("case expect is not the expect of its last step")
	}
	for i, st := range c.Steps {
		s, ok := sessions[st.Party]
		want, known := expectErrors[st.Expect]
		if !ok || !known {
			t.Fatalf("step %d: party %q, expect %q", i, st.Party, st.Expect)
		}
		ad := caseAD
		if st.AD != "" {
			ad = unhex(t, st.AD)
		}
		switch st.Op {
		case "encrypt":
			m, err := s.Encrypt(unhex(t, st.Plaintext), ad)
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("step %d: Encrypt error %v, want %s", i, err, st.Expect)
			}
			if hex.EncodeToString(m) != st.Message {
				t.Fatalf("step %d: message %x, want %s", i, m, st.Message)
			}
		case "encrypt_discard":
			for range st.Count {
				if _, err := s.Encrypt(nil, ad); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
		case "decrypt":
			msg := unhex(t, st.Message)
			if want != nil {
				expectFailure(t, s, rands[st.Party], msg, ad, want)
				continue
			}
			pt, err := s.Decrypt(rands[st.Party], msg, ad)
			if err != nil || hex.EncodeToString(pt) != st.Plaintext {
				t.Fatalf("step %d: Decrypt = %x, %v; want %s", i, pt, err, st.Plaintext)
			}
		default:
			t.Fatalf("step %d: unknown op %q", i, st.Op)
		}
	}
	for party, r := range rands {
		if r.Len() != 0 {
			t.Fatalf("%s left %d random bytes unread", party, r.Len())
		}
	}
}
