package x3dh

import (
	"bytes"
	"encoding"
	"encoding/hex"
	"reflect"
	"testing"
	"time"
)

// seedFromVectors adds every non-empty hex field picked by fields.
func seedFromVectors(f *testing.F, fields func(c vectorCase) []string) {
	for _, c := range loadVectors(f) {
		for _, s := range fields(c) {
			if s == "" {
				continue
			}
			b, err := hex.DecodeString(s)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

func FuzzParseBundle(f *testing.F) {
	seedFromVectors(f, func(c vectorCase) []string { return []string{c.Bundle} })
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if b != nil {
				t.Fatal("error with non-nil bundle")
			}
			return
		}
		out, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed bundle does not marshal: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("decode→encode differs:\n%x\n%x", data, out)
		}
		_ = b.Verify(time.Unix(1_750_000_000, 0)) // must not panic
	})
}

func FuzzParseHeader(f *testing.F) {
	seedFromVectors(f, func(c vectorCase) []string { return []string{c.Header} })
	bob := newParty(f, "bob", 1)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			if h != nil {
				t.Fatal("error with non-nil header")
			}
			return
		}
		out, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed header does not marshal: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("decode→encode differs:\n%x\n%x", data, out)
		}
		_, _, _ = Respond(bob.id, bob.store, h, testNow) // must not panic
	})
}

// FuzzParseCompactHeader: a compact header parses exactly when the full header built
// from it does, and re-encodes to the input.
func FuzzParseCompactHeader(f *testing.F) {
	alice := newParty(f, "alice", 0)
	pub := alice.id.Public()
	seedFromVectors(f, func(c vectorCase) []string {
		b, err := hex.DecodeString(c.Header)
		if err != nil || len(b) <= 1+publicIdentitySize {
			return nil
		}
		return []string{hex.EncodeToString(append(b[:1:1], b[1+publicIdentitySize:]...))}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseCompactHeader(data, &pub)
		if err != nil {
			if h != nil {
				t.Fatal("error with non-nil header")
			}
			return
		}
		if h.Initiator != pub {
			t.Fatal("initiator not the one given")
		}
		out, err := h.MarshalCompact()
		if err != nil {
			t.Fatalf("parsed compact header does not marshal: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("decode→encode differs:\n%x\n%x", data, out)
		}
	})
}

// fuzzSecret checks a secret key decoder: errors leave the receiver untouched
// (zero), successes re-encode to the input.
func fuzzSecret[T any, P interface {
	*T
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}](f *testing.F, field func(c vectorCase) []string) {
	seedFromVectors(f, field)
	f.Fuzz(func(t *testing.T, data []byte) {
		var v T
		p := P(&v)
		if err := p.UnmarshalBinary(data); err != nil {
			if !reflect.ValueOf(v).IsZero() {
				t.Fatal("receiver modified on error")
			}
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("decode→encode differs:\n%x\n%x", data, out)
		}
	})
}

func FuzzIdentityUnmarshal(f *testing.F) {
	fuzzSecret[Identity](f, func(c vectorCase) []string { return []string{c.InitiatorIdentity, c.ResponderIdentity} })
}

func FuzzSignedPrekeyUnmarshal(f *testing.F) {
	fuzzSecret[SignedPrekey](f, func(c vectorCase) []string { return []string{c.SignedPrekey} })
}

func FuzzOneTimePrekeyUnmarshal(f *testing.F) {
	fuzzSecret[OneTimePrekey](f, func(c vectorCase) []string { return []string{c.OneTimePrekey} })
}
