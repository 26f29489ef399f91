package epoch

import (
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// TestKeyBlockSignature: a signed part verifies under its author's key only; any byte of
// it changed (header fields, part numbers, signature, slots) or another group fails.
func TestKeyBlockSignature(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, otherPub := crypto.FromECDSAPub(&key.PublicKey), crypto.FromECDSAPub(&other.PublicKey)
	g := ID{1}
	var nonce [NonceSize]byte
	b := NewRekey(g, Installation{2}, nonce, Frontier{ID{3}})
	b.Parts, b.Part = 3, 1
	b.Slots = []Slot{{Hint: [HintSize]byte{4}, Kind: SlotSession, Message: []byte("slot")}}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := SignKeyBlock(g, enc, key); err != nil {
		t.Fatal(err)
	}
	if !VerifyKeyBlock(crypto.VerifySignature, g, enc, pub) {
		t.Fatal("a signed part does not verify")
	}
	if _, err := ParseKeyBlock(g, enc); err != nil {
		t.Fatalf("a signed part does not parse: %v", err)
	}
	if VerifyKeyBlock(crypto.VerifySignature, g, enc, otherPub) {
		t.Error("verifies under another key")
	}
	if VerifyKeyBlock(crypto.VerifySignature, ID{9}, enc, pub) {
		t.Error("verifies for another group")
	}
	for i := 1; i < len(enc); i++ {
		c := append([]byte{}, enc...)
		c[i] ^= 1
		if VerifyKeyBlock(crypto.VerifySignature, g, c, pub) {
			t.Errorf("byte %d changed: still verifies", i)
		}
	}
	for _, n := range []int{0, 1, 40, b.HeaderSize() - 5} {
		if VerifyKeyBlock(crypto.VerifySignature, g, enc[:n], pub) {
			t.Errorf("truncated to %d bytes: verifies", n)
		}
	}
}
