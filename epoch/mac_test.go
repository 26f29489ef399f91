package epoch

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestMacMatchesStdlib: mac32 and expandInto give crypto/hmac's and crypto/hkdf's outputs
// for every input length around the stack buffer's bound, split anywhere, and every
// output length up to 64; ChainStep and MessageKeys follow.
func TestMacMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var key [IDSize]byte
	for n := 0; n <= macMaxInput+40; n++ {
		for range 3 {
			for i := range key {
				key[i] = byte(r.Uint32())
			}
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(r.Uint32())
			}
			cut := 0
			if n > 0 {
				cut = r.IntN(n + 1)
			}
			m := hmac.New(sha256.New, key[:])
			m.Write(msg)
			want := m.Sum(nil)
			if got := mac32(&key, msg[:cut], msg[cut:]); !bytes.Equal(got[:], want) {
				t.Fatalf("mac32 of %d bytes (cut %d) differs from crypto/hmac", n, cut)
			}
		}
	}
	for _, info := range []string{"", "x", labelMessageKeys, labelOuterKey, labelSenderChain + strings.Repeat("i", 32), strings.Repeat("l", macMaxInput)} {
		for l := 1; l <= 2*IDSize; l++ {
			want, err := hkdf.Expand(sha256.New, key[:], info, l)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, l)
			expandInto(&key, info, got)
			if !bytes.Equal(got, want) {
				t.Fatalf("expandInto(info of %d bytes, %d) differs from crypto/hkdf", len(info), l)
			}
		}
	}
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte{1})
	mkWant := m.Sum(nil)
	m.Reset()
	m.Write([]byte{2})
	nextWant := m.Sum(nil)
	mk, next := ChainStep(&key)
	if !bytes.Equal(mk[:], mkWant) || !bytes.Equal(next[:], nextWant) {
		t.Fatal("ChainStep differs from HMAC(ck, 0x01), HMAC(ck, 0x02)")
	}
	out, _ := hkdf.Expand(sha256.New, mk[:], labelMessageKeys, 44)
	k, nonce := MessageKeys(&mk)
	if !bytes.Equal(k[:], out[:32]) || !bytes.Equal(nonce[:], out[32:]) {
		t.Fatal("MessageKeys differs from HKDF-Expand(mk, label, 44)")
	}
}

// TestMacNoAllocations: the per-message derivations allocate nothing.
func TestMacNoAllocations(t *testing.T) {
	var ck [IDSize]byte
	e := Epoch{}
	if n := testing.AllocsPerRun(100, func() {
		mk, _ := ChainStep(&ck)
		MessageKeys(&mk)
		e.OuterKey()
	}); n != 0 {
		t.Fatalf("%v allocations per chain step, message keys and outer key", n)
	}
}
