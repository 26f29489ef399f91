package doubleratchet

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"testing"
)

// TestHMACMatchesStdlib checks the allocation-free HMAC against crypto/hmac
// for every message length the helper accepts.
func TestHMACMatchesStdlib(t *testing.T) {
	r := testRand("hmac")
	for n := 0; n <= maxHMACMsg; n++ {
		var key [32]byte
		msg := make([]byte, n)
		io.ReadFull(r, key[:])
		io.ReadFull(r, msg)
		m := hmac.New(sha256.New, key[:])
		m.Write(msg)
		got := hmacSHA256(&key, msg)
		if !bytes.Equal(got[:], m.Sum(nil)) {
			t.Fatalf("HMAC differs for a %d-byte message", n)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("over-long HMAC message accepted")
		}
	}()
	hmacSHA256(new([32]byte), make([]byte, maxHMACMsg+1))
}

// TestKDFsMatchStdlib checks the root KDF and the message-key expansion
// against crypto/hkdf, and the chain KDF against crypto/hmac.
func TestKDFsMatchStdlib(t *testing.T) {
	r := testRand("kdf")
	for range 100 {
		var rk, ck, mk [32]byte
		dh := make([]byte, 32)
		io.ReadFull(r, rk[:])
		io.ReadFull(r, ck[:])
		io.ReadFull(r, mk[:])
		io.ReadFull(r, dh)

		newRK, chain := kdfRoot(&rk, dh)
		want, err := hkdf.Key(sha256.New, dh, rk[:], labelRoot, 64)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(newRK[:], chain[:]...), want) {
			t.Fatal("root KDF differs from HKDF")
		}

		key, nonce := messageKeys(&mk)
		want, err = hkdf.Key(sha256.New, mk[:], make([]byte, 32), labelMessageKey, 44)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(key[:], nonce[:]...), want) {
			t.Fatal("message key expansion differs from HKDF")
		}
		// An empty salt is the same as 32 zero bytes (RFC 5869 §2.2).
		want2, _ := hkdf.Key(sha256.New, mk[:], nil, labelMessageKey, 44)
		if !bytes.Equal(want, want2) {
			t.Fatal("empty salt differs")
		}

		m1, next := kdfChain(&ck)
		h1 := hmac.New(sha256.New, ck[:])
		h1.Write([]byte{0x01})
		h2 := hmac.New(sha256.New, ck[:])
		h2.Write([]byte{0x02})
		if !bytes.Equal(m1[:], h1.Sum(nil)) || !bytes.Equal(next[:], h2.Sum(nil)) || m1 == next {
			t.Fatal("chain KDF differs from HMAC(ck, 0x01) / HMAC(ck, 0x02)")
		}
	}
}

func TestKDFsDoNotAllocate(t *testing.T) {
	var ck, rk [32]byte
	dh := make([]byte, 32)
	if n := testing.AllocsPerRun(100, func() {
		mk, _ := kdfChain(&ck)
		messageKeys(&mk)
		kdfRoot(&rk, dh)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
