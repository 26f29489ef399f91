package x3dh

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/spec"
)

type vectorCase struct {
	Name              string `json:"name"`
	Expect            string `json:"expect"`
	Kind              string `json:"kind"`
	Now               int64  `json:"now"`
	InitiatorIdentity string `json:"initiator_identity"`
	ResponderIdentity string `json:"responder_identity"`
	SignedPrekey      string `json:"signed_prekey"`
	OneTimePrekey     string `json:"one_time_prekey"`
	Bundle            string `json:"bundle"`
	SignatureDigest   string `json:"signature_digest"`
	Ephemeral         string `json:"ephemeral"`
	Header            string `json:"header"`
	CompactHeader     string `json:"compact_header"`
	Secret            string `json:"secret"`
	AD                string `json:"ad"`
}

// expectErrors maps the vectors' expect classes to sentinel errors.
var expectErrors = map[string]error{
	"success":                 nil,
	"bad_signature":           ErrBadSignature,
	"expired_prekey":          ErrExpiredPrekey,
	"invalid_point":           ErrInvalidPoint,
	"invalid_signing_key":     ErrInvalidSigningKey,
	"unknown_signed_prekey":   ErrUnknownSignedPrekey,
	"unknown_one_time_prekey": ErrUnknownOneTimePrekey,
	"unsupported_version":     ErrVersion,
	"malformed":               ErrMalformed,
}

func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	data, err := spec.Vectors.ReadFile("vectors/x3dh.json")
	if err != nil {
		t.Fatalf("x3dh vectors: %v", err)
	}
	var f struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("x3dh vectors: zero cases")
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
			want, ok := expectErrors[c.Expect]
			if !ok {
				t.Fatalf("unknown expect class %q", c.Expect)
			}
			classes[c.Expect]++
			now := time.Unix(c.Now, 0)
			switch c.Kind {
			case "agree":
				checkAgree(t, c, now)
			case "initiate":
				ini := new(Identity)
				if err := ini.UnmarshalBinary(unhex(t, c.InitiatorIdentity)); err != nil {
					t.Fatal(err)
				}
				b, err := ParseBundle(unhex(t, c.Bundle))
				if err == nil {
					_, _, _, err = Initiate(bytes.NewReader(unhex(t, c.Ephemeral)), ini, b, now)
				}
				if !errors.Is(err, want) || err == nil {
					t.Fatalf("got %v, want %v", err, want)
				}
			case "respond":
				res, store := responder(t, c)
				h, err := ParseHeader(unhex(t, c.Header))
				if err == nil {
					_, _, err = Respond(res, store, h, now)
				}
				if !errors.Is(err, want) || err == nil {
					t.Fatalf("got %v, want %v", err, want)
				}
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
	for class := range expectErrors {
		if classes[class] == 0 {
			t.Errorf("no vector for expect class %q", class)
		}
	}
}

func responder(t *testing.T, c vectorCase) (*Identity, *prekeyStore) {
	res := new(Identity)
	if err := res.UnmarshalBinary(unhex(t, c.ResponderIdentity)); err != nil {
		t.Fatal(err)
	}
	spk := new(SignedPrekey)
	if err := spk.UnmarshalBinary(unhex(t, c.SignedPrekey)); err != nil {
		t.Fatal(err)
	}
	st := &prekeyStore{spks: map[uint32]*SignedPrekey{spk.ID(): spk}, otks: map[uint32]*OneTimePrekey{}}
	if c.OneTimePrekey != "" {
		otk := new(OneTimePrekey)
		if err := otk.UnmarshalBinary(unhex(t, c.OneTimePrekey)); err != nil {
			t.Fatal(err)
		}
		st.otks[otk.ID()] = otk
	}
	return res, st
}

func checkAgree(t *testing.T, c vectorCase, now time.Time) {
	ini := new(Identity)
	if err := ini.UnmarshalBinary(unhex(t, c.InitiatorIdentity)); err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(unhex(t, c.Bundle))
	if err != nil {
		t.Fatal(err)
	}
	if d := signedPrekeyDigest(&b.Identity, b.SignedPrekeyID, &b.SignedPrekey, b.Expires); hex.EncodeToString(d[:]) != c.SignatureDigest {
		t.Fatalf("signature digest %x, want %s", d, c.SignatureDigest)
	}
	secret, ad, hdr, err := Initiate(bytes.NewReader(unhex(t, c.Ephemeral)), ini, b, now)
	if err != nil {
		t.Fatal(err)
	}
	hdrEnc, _ := hdr.MarshalBinary()
	if hex.EncodeToString(hdrEnc) != c.Header || hex.EncodeToString(secret[:]) != c.Secret || hex.EncodeToString(ad) != c.AD {
		t.Fatalf("initiator: header %x secret %x ad %x", hdrEnc, secret, ad)
	}
	compact, _ := hdr.MarshalCompact()
	if hex.EncodeToString(compact) != c.CompactHeader {
		t.Fatalf("compact header %x, want %s", compact, c.CompactHeader)
	}
	pub := ini.Public()
	if ch, err := ParseCompactHeader(compact, &pub); err != nil || *ch != *hdr {
		t.Fatalf("compact header does not parse back to the header: %v", err)
	}
	res, store := responder(t, c)
	if b.Identity != res.Public() {
		t.Fatal("bundle identity does not match responder identity")
	}
	h, err := ParseHeader(unhex(t, c.Header))
	if err != nil {
		t.Fatal(err)
	}
	secret2, ad2, err := Respond(res, store, h, now)
	if err != nil {
		t.Fatal(err)
	}
	if secret2 != secret || !bytes.Equal(ad2, ad) {
		t.Fatal("responder disagrees")
	}
}
