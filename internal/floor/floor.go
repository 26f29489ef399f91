// Package floor benchmarks the cryptographic primitives Chorus is built from, so that
// every package's benchmarks can be compared with the primitive floor measured in the
// same process (ratios survive a noisy machine; absolute numbers do not).
//
// Each package with benchmarks declares
//
//	func BenchmarkFloor(b *testing.B) { floor.Run(b) }
//
// and states its targets in testdata/benchtargets.txt in terms of these sub-benchmarks:
// X25519, Secp256k1Sign, Secp256k1Verify, Secp256k1Ecrecover, ChaChaSeal/{100B,1KiB},
// ChaChaOpen/{100B,1KiB}, HMAC, HKDF, SHA256, Keccak256.
package floor

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"
)

// Sizes are the payload sizes used for the AEAD floor, matching the packages' benchmarks.
var Sizes = []struct {
	Name string
	N    int
}{{"100B", 100}, {"1KiB", 1024}}

// fixed returns a deterministic byte slice of length n.
func fixed(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// Run runs every floor sub-benchmark.
func Run(b *testing.B) {
	b.Run("X25519", benchX25519)
	b.Run("Secp256k1Sign", benchSign)
	b.Run("Secp256k1Verify", benchVerify)
	b.Run("Secp256k1Ecrecover", benchEcrecover)
	for _, s := range Sizes {
		b.Run("ChaChaSeal/"+s.Name, func(b *testing.B) { benchSeal(b, s.N) })
		b.Run("ChaChaOpen/"+s.Name, func(b *testing.B) { benchOpen(b, s.N) })
	}
	b.Run("HMAC", benchHMAC)
	b.Run("HKDF", benchHKDF)
	b.Run("SHA256", benchSHA256)
	b.Run("Keccak256", benchKeccak)
}

func benchX25519(b *testing.B) {
	priv, err := ecdh.X25519().NewPrivateKey(fixed(32, 1))
	if err != nil {
		b.Fatal(err)
	}
	peer, err := ecdh.X25519().NewPrivateKey(fixed(32, 2))
	if err != nil {
		b.Fatal(err)
	}
	pub := peer.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := priv.ECDH(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func secpKey(b *testing.B) ([]byte, []byte, []byte) {
	key, err := crypto.ToECDSA(fixed(32, 3))
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("chorus floor"))
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		b.Fatal(err)
	}
	return crypto.FromECDSAPub(&key.PublicKey), digest[:], sig
}

func benchSign(b *testing.B) {
	key, err := crypto.ToECDSA(fixed(32, 3))
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("chorus floor"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.Sign(digest[:], key); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B) {
	pub, digest, sig := secpKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if !crypto.VerifySignature(pub, digest, sig[:64]) {
			b.Fatal("verify failed")
		}
	}
}

func benchEcrecover(b *testing.B) {
	_, digest, sig := secpKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.Ecrecover(digest, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSeal(b *testing.B, n int) {
	aead, err := chacha20poly1305.New(fixed(32, 4))
	if err != nil {
		b.Fatal(err)
	}
	nonce, pt, ad := fixed(12, 5), fixed(n, 6), fixed(16, 7)
	dst := make([]byte, 0, n+16)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		dst = aead.Seal(dst[:0], nonce, pt, ad)
	}
}

func benchOpen(b *testing.B, n int) {
	aead, err := chacha20poly1305.New(fixed(32, 4))
	if err != nil {
		b.Fatal(err)
	}
	nonce, pt, ad := fixed(12, 5), fixed(n, 6), fixed(16, 7)
	ct := aead.Seal(nil, nonce, pt, ad)
	dst := make([]byte, 0, n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = aead.Open(dst[:0], nonce, ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHMAC measures one HMAC-SHA256 of a single byte under a 32-byte key with a fresh
// HMAC object, the operation a chain-key step performs.
func benchHMAC(b *testing.B) {
	key, msg := fixed(32, 8), []byte{1}
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		_ = m.Sum(nil)
	}
}

// benchHKDF measures a full HKDF-SHA256 (extract + expand) producing 44 bytes (an AEAD key
// and nonce).
func benchHKDF(b *testing.B) {
	secret, salt := fixed(32, 9), fixed(32, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hkdf.Key(sha256.New, secret, salt, "chorus/v1/floor", 44); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSHA256(b *testing.B) {
	msg := fixed(100, 11)
	b.ReportAllocs()
	for b.Loop() {
		_ = sha256.Sum256(msg)
	}
}

func benchKeccak(b *testing.B) {
	msg := fixed(100, 12)
	b.ReportAllocs()
	for b.Loop() {
		_ = crypto.Keccak256(msg)
	}
}
