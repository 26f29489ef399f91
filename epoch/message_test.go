package epoch

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func testKey(t testing.TB, label string) *ecdsa.PrivateKey {
	t.Helper()
	seed := testID("key/" + label)
	k, err := crypto.ToECDSA(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testEpoch(label string) Epoch {
	return Epoch{ID: testID("epoch/" + label), Secret: testID("secret/" + label)}
}

func openUnchanged(t *testing.T, r *ReceiverChain, pub, msg []byte, want error) {
	t.Helper()
	before, _ := r.MarshalBinary()
	if _, err := r.Open(pub, msg); !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	after, _ := r.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("a failed open changed the chain")
	}
}

func TestMessageSealOpen(t *testing.T) {
	ep := testEpoch("a")
	inst := Installation{7}
	key := testKey(t, "sender")
	pub := crypto.FromECDSAPub(&key.PublicKey)
	s := NewSenderChain(&ep, inst)
	var msgs [][]byte
	for i := range 6 {
		m, err := s.Seal(key, []byte{byte('a' + i)})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1+MessageOverhead {
			t.Fatalf("message of %d bytes", len(m))
		}
		msgs = append(msgs, m)
	}
	r := NewReceiverChain(&ep, inst)
	// Out of order: 3 first (0..2 skipped), then 1, then 3 again (replay).
	if pt, err := r.Open(pub, msgs[3]); err != nil || string(pt) != "d" {
		t.Fatalf("open 3: %v", err)
	}
	if g := r.Gaps(); len(g) != 1 || g[0] != (Gap{0, 3}) {
		t.Fatalf("gaps %v", g)
	}
	if pt, err := r.Open(pub, msgs[1]); err != nil || string(pt) != "b" {
		t.Fatalf("open 1: %v", err)
	}
	if g := r.Gaps(); len(g) != 2 || g[0] != (Gap{0, 1}) || g[1] != (Gap{2, 3}) {
		t.Fatalf("gaps %v", g)
	}
	openUnchanged(t, r, pub, msgs[3], ErrReplay)
	openUnchanged(t, r, pub, msgs[1], ErrReplay)
	// Another key, another installation, another epoch, tampering.
	other := testKey(t, "other")
	openUnchanged(t, r, crypto.FromECDSAPub(&other.PublicKey), msgs[4], ErrBadSignature)
	forged := NewSenderChain(&ep, inst)
	fm, _ := forged.Seal(other, []byte("x")) // a member knows the chain but not the key
	openUnchanged(t, r, pub, fm, ErrBadSignature)
	r2 := NewReceiverChain(&ep, Installation{8})
	openUnchanged(t, r2, pub, msgs[4], ErrMismatch)
	ep2 := testEpoch("b")
	r3 := NewReceiverChain(&ep2, inst)
	openUnchanged(t, r3, pub, msgs[4], ErrBadSignature) // the signature binds the epoch
	bad := bytes.Clone(msgs[4])
	bad[HeaderSize] ^= 1
	openUnchanged(t, r, pub, bad, ErrBadSignature)
	openUnchanged(t, r, pub, msgs[4][:MessageOverhead-1], ErrMalformed)
	v := bytes.Clone(msgs[4])
	v[0] = 1
	openUnchanged(t, r, pub, v, ErrUnsupportedVersion)
	// Round trip of both states.
	st, _ := r.MarshalBinary()
	var back ReceiverChain
	if err := back.UnmarshalBinary(st); err != nil {
		t.Fatal(err)
	}
	if pt, err := back.Open(pub, msgs[5]); err != nil || string(pt) != "f" {
		t.Fatalf("open after round trip: %v", err)
	}
	ss, _ := s.MarshalBinary()
	var sb SenderChain
	if err := sb.UnmarshalBinary(ss); err != nil || sb.Iteration() != 6 {
		t.Fatal("sender chain round trip")
	}
}

func TestMessageForwardJump(t *testing.T) {
	ep := testEpoch("jump")
	inst := Installation{1}
	key := testKey(t, "j")
	pub := crypto.FromECDSAPub(&key.PublicKey)
	s := NewSenderChain(&ep, inst)
	s.next = MaxForwardJump + 1
	for range MaxForwardJump + 1 {
		_, s.chain = ChainStep(&s.chain)
	}
	far, _ := s.Seal(key, []byte("far"))
	r := NewReceiverChain(&ep, inst)
	openUnchanged(t, r, pub, far, ErrTooFarAhead)
	s2 := NewSenderChain(&ep, inst)
	s2.next = MaxForwardJump
	for range MaxForwardJump {
		_, s2.chain = ChainStep(&s2.chain)
	}
	edge, _ := s2.Seal(key, []byte("edge"))
	if pt, err := r.Open(pub, edge); err != nil || string(pt) != "edge" {
		t.Fatalf("open at the jump limit: %v", err)
	}
	if g := r.Gaps(); len(g) != 1 || g[0] != (Gap{MaxForwardJump - MaxSkippedKeys, MaxForwardJump}) {
		t.Fatalf("gaps %v", g)
	}
}

// TestMessageOpenWith: MessageSignature names what Open verifies, and OpenWith asks its
// verifier exactly that; a verifier's refusal is ErrBadSignature with the chain unchanged.
func TestMessageOpenWith(t *testing.T) {
	ep := testEpoch("w")
	inst := Installation{9}
	key := testKey(t, "sender")
	pub := crypto.FromECDSAPub(&key.PublicKey)
	s := NewSenderChain(&ep, inst)
	msg, err := s.Seal(key, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	d, sig, err := MessageSignature(ep.ID, msg)
	if err != nil || !crypto.VerifySignature(pub, d[:], sig) {
		t.Fatalf("MessageSignature: %v, or its signature does not verify", err)
	}
	if _, _, err := MessageSignature(ep.ID, msg[:MessageOverhead-1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short message: %v", err)
	}
	r := NewReceiverChain(&ep, inst)
	before, _ := r.MarshalBinary()
	var asked [][]byte
	refuse := func(p, dg, sg []byte) bool { asked = append(asked, p, dg, sg); return false }
	if _, err := r.OpenWith(refuse, pub, msg); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("refused: %v", err)
	}
	if after, _ := r.MarshalBinary(); !bytes.Equal(before, after) {
		t.Fatal("a refused open changed the chain")
	}
	if len(asked) != 3 || !bytes.Equal(asked[0], pub) || !bytes.Equal(asked[1], d[:]) || !bytes.Equal(asked[2], sig) {
		t.Fatal("OpenWith did not ask for the message's key, digest and signature")
	}
	accept := func(p, dg, sg []byte) bool { return true }
	if pt, err := r.OpenWith(accept, pub, msg); err != nil || string(pt) != "hello" {
		t.Fatalf("accepted: %q, %v", pt, err)
	}
}
