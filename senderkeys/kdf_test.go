package senderkeys

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"testing"
)

func refHMAC(key []byte, msg ...byte) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// TestKDFMatchesReference checks the block-level HMAC and HKDF-Expand against crypto/hmac
// and crypto/hkdf, on both the fast path and the fallback.
func TestKDFMatchesReference(t *testing.T) {
	for _, fast := range []bool{true, false} {
		k := newKDF()
		if fast && !k.fast {
			t.Fatal("fast path unavailable: crypto/sha256 state encoding changed")
		}
		k.fast = fast
		rnd := testRand("kdf")
		for i := range 200 {
			var chain, mk [keySize]byte
			io.ReadFull(rnd, chain[:])
			wantMK, wantChain := refHMAC(chain[:], chainMessageConst), refHMAC(chain[:], chainNextConst)

			c := chain
			k.step(&c, &mk)
			if mk != wantMK || c != wantChain {
				t.Fatalf("fast=%v step %d: mismatch", fast, i)
			}
			c = chain
			k.step(&c, nil)
			if c != wantChain {
				t.Fatalf("fast=%v chain-only step %d: mismatch", fast, i)
			}

			okm, err := hkdf.Expand(sha256.New, mk[:], labelMessageKeys, keySize+nonceSize)
			if err != nil {
				t.Fatal(err)
			}
			key, nonce := k.messageKeys(&mk)
			if string(key[:]) != string(okm[:keySize]) || string(nonce[:]) != string(okm[keySize:]) {
				t.Fatalf("fast=%v messageKeys %d: mismatch with HKDF-Expand", fast, i)
			}
		}
		k.clear()
	}
}

// TestChainIsNotMessageKey guards the separation of chain and message keys.
func TestChainIsNotMessageKey(t *testing.T) {
	k := newKDF()
	var chain, mk [keySize]byte
	chain[0] = 1
	prev := chain
	k.step(&chain, &mk)
	if mk == chain || mk == prev || chain == prev {
		t.Fatal("chain and message keys coincide")
	}
}
