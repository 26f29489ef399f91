package doubleratchet

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParseMessage: the header decoder never panics, and an accepted header
// re-encodes to the same 41 bytes.
func FuzzParseMessage(f *testing.F) {
	for _, c := range loadVectors(f) {
		for _, st := range c.Steps {
			if st.Message != "" {
				f.Add(unhex(f, st.Message))
			}
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, ct, err := parseMessage(msg)
		if err != nil {
			if ct != nil {
				t.Fatal("ciphertext returned with an error")
			}
			return
		}
		var enc [HeaderSize]byte
		h.put(enc[:])
		if !bytes.Equal(enc[:], msg[:HeaderSize]) || len(ct) != len(msg)-HeaderSize {
			t.Fatalf("header decode→encode differs: %x vs %x", enc, msg[:HeaderSize])
		}
	})
}

// FuzzSessionUnmarshal: the state decoder never panics, leaves the receiver
// untouched on error, and re-encodes accepted input byte for byte. An
// accepted state can be used without panicking.
func FuzzSessionUnmarshal(f *testing.F) {
	for _, s := range sessionsAtStages(f) {
		f.Add(stateBytes(f, s))
	}
	alice, _ := newPair(f, "fuzz-state")
	probe := mustEncrypt(f, alice, "probe")
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Session
		if err := s.UnmarshalBinary(data); err != nil {
			if !reflect.ValueOf(s).IsZero() {
				t.Fatal("receiver modified on error")
			}
			return
		}
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decode→encode differs:\n%x\n%x", data, enc)
		}
		_, _ = s.Clone().Encrypt([]byte("x"), testAD)
		_, _ = s.Clone().Decrypt(testRand("fuzz"), probe, testAD)
	})
}

// FuzzDecrypt feeds arbitrary messages and associated data to an established
// session: no panic; on error no plaintext and a byte-identical state.
func FuzzDecrypt(f *testing.F) {
	alice, bob := newPair(f, "fuzz-decrypt")
	rb := testRand("b")
	a0 := mustEncrypt(f, alice, "a0")
	mustDecrypt(f, bob, rb, mustEncrypt(f, alice, "a1"), "a1") // a0 stays skipped
	f.Add(a0, testAD)
	f.Add(mustEncrypt(f, alice, "a2"), testAD)
	other, _ := newPair(f, "fuzz-other")
	f.Add(mustEncrypt(f, other, "new chain"), testAD)
	f.Add([]byte{Version}, []byte(nil))
	before := stateBytes(f, bob)
	f.Fuzz(func(t *testing.T, msg, ad []byte) {
		s := bob.Clone()
		pt, err := s.Decrypt(testRand("fuzz"), msg, ad)
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext with an error")
			}
			if !bytes.Equal(stateBytes(t, s), before) {
				t.Fatalf("state changed after %v", err)
			}
		}
	})
}
