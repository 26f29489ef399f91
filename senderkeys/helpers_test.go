package senderkeys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// testRand returns a deterministic random stream named by label.
func testRand(label string) io.Reader {
	return rand.NewChaCha8(sha256.Sum256([]byte(label)))
}

// owner is a sending installation: its id and secp256k1 key.
type owner struct {
	id   [16]byte
	key  *ecdsa.PrivateKey
	pub  [33]byte
	rand io.Reader
}

func newOwner(t testing.TB, label string) *owner {
	t.Helper()
	o := &owner{rand: testRand(label)}
	io.ReadFull(o.rand, o.id[:])
	var err error
	if o.key, err = newSigningKey(o.rand); err != nil {
		t.Fatal(err)
	}
	o.pub = compressedPublic(o.key)
	return o
}

var testGroup = bytes.Repeat([]byte{0x47}, 32)

func (o *owner) sender(t testing.TB) *Sender {
	t.Helper()
	s, err := NewSender(o.rand, testGroup)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (o *owner) rotate(t testing.TB, s *Sender) *Sender {
	t.Helper()
	n, err := s.Rotate(o.rand)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (o *owner) dist(t testing.TB, s *Sender) *Distribution {
	t.Helper()
	d, err := s.Distribution(o.key, o.id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (o *owner) receiver() *Receiver { return NewReceiver(testGroup, o.id, o.pub) }

func seal(t testing.TB, s *Sender, pt string) []byte {
	t.Helper()
	m, err := s.Seal([]byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t testing.TB, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func process(t testing.TB, r *Receiver, d *Distribution) {
	t.Helper()
	if err := r.Process(d); err != nil {
		t.Fatalf("Process: %v", err)
	}
}

func mustOpen(t testing.TB, r *Receiver, msg []byte, want string) {
	t.Helper()
	pt, err := r.Open(msg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if string(pt) != want {
		t.Fatalf("Open = %q, want %q", pt, want)
	}
}

// openFails asserts that Open fails with want and leaves the state byte-identical.
func openFails(t testing.TB, r *Receiver, msg []byte, want error) {
	t.Helper()
	before := marshal(t, r)
	pt, err := r.Open(msg)
	if !errorsIs(err, want) {
		t.Fatalf("Open error = %v, want %v", err, want)
	}
	if pt != nil {
		t.Fatalf("Open returned plaintext with error %v", err)
	}
	if after := marshal(t, r); !bytes.Equal(before, after) {
		t.Fatalf("state changed after failed Open (%v)", err)
	}
}

// processFails asserts that Process fails with want and leaves the state byte-identical.
func processFails(t testing.TB, r *Receiver, d *Distribution, want error) {
	t.Helper()
	before := marshal(t, r)
	if err := r.Process(d); !errorsIs(err, want) {
		t.Fatalf("Process error = %v, want %v", err, want)
	}
	if after := marshal(t, r); !bytes.Equal(before, after) {
		t.Fatal("state changed after failed Process")
	}
}

// forgeKey returns a valid compressed key no one in the test owns.
func forgeKey(t testing.TB) ([33]byte, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := newSigningKey(testRand("forger"))
	if err != nil {
		t.Fatal(err)
	}
	var out [33]byte
	copy(out[:], crypto.CompressPubkey(&k.PublicKey))
	return out, k
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
