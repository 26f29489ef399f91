package doubleratchet

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
)

// testRand returns a deterministic reader seeded from label.
func testRand(label string) io.Reader {
	return mrand.NewChaCha8(sha256.Sum256([]byte(label)))
}

// testAD stands for the X3DH associated data.
var testAD = bytes.Repeat([]byte{0xad}, 162)

// newPair returns an initiator (alice) and a responder (bob) session sharing
// a secret, as after X3DH.
func newPair(t testing.TB, label string) (alice, bob *Session) {
	t.Helper()
	r := testRand(label)
	var sk, spk [32]byte
	io.ReadFull(r, sk[:])
	io.ReadFull(r, spk[:])
	bobKey, err := ecdh.X25519().NewPrivateKey(spk[:])
	if err != nil {
		t.Fatal(err)
	}
	alice, err = NewInitiator(r, sk, [32]byte(bobKey.PublicKey().Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	bob, err = NewResponder(sk, bobKey)
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

func mustEncrypt(t testing.TB, s *Session, pt string) []byte {
	t.Helper()
	m, err := s.Encrypt([]byte(pt), testAD)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustDecrypt(t testing.TB, s *Session, r io.Reader, msg []byte, want string) {
	t.Helper()
	pt, err := s.Decrypt(r, msg, testAD)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if string(pt) != want {
		t.Fatalf("plaintext %q, want %q", pt, want)
	}
}

func stateBytes(t testing.TB, s *Session) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectFailure decrypts msg, expects an error matching want (nil: any) and
// checks the session is byte-identical afterwards.
func expectFailure(t testing.TB, s *Session, r io.Reader, msg, ad []byte, want error) error {
	t.Helper()
	before := stateBytes(t, s)
	pt, err := s.Decrypt(r, msg, ad)
	if err == nil {
		t.Fatalf("Decrypt succeeded (%q), want %v", pt, want)
	}
	if pt != nil {
		t.Fatal("plaintext returned with an error")
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("Decrypt error %v, want %v", err, want)
	}
	if !bytes.Equal(before, stateBytes(t, s)) {
		t.Fatalf("state changed after a failed Decrypt (%v)", err)
	}
	return err
}
