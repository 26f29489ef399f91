// Command safety writes the conformance vectors of safety numbers (spec/README.md,
// "Safety numbers") to DIR/safety.json. It derives them on its own, straight from the
// spec text (not through package protocol), from deterministic account keys: a SHA-256
// counter stream seeded with a fixed label.
package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/crypto"
)

type stream struct {
	seed []byte
	ctr  uint64
}

func (s *stream) block() []byte {
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], s.ctr)
	s.ctr++
	h := sha256.Sum256(append(append([]byte{}, s.seed...), c[:]...))
	return h[:]
}

// accountKey returns a deterministic 65-byte uncompressed secp256k1 public key.
func (s *stream) accountKey() []byte {
	for {
		k, err := crypto.ToECDSA(s.block())
		if err == nil {
			return crypto.FromECDSAPub(&k.PublicKey)
		}
	}
}

// fingerprint follows the spec: h0 = SHA-512(0x0000 || "chorus/v1/safety-number" || key),
// h_i = SHA-512(h_{i-1} || key) for i = 1..5200; digits from the first 30 bytes, five
// per 5-byte big-endian chunk (mod 100000, zero-padded).
func fingerprint(key []byte) string {
	h := sha512.Sum512(append(append([]byte{0, 0}, "chorus/v1/safety-number"...), key...))
	for i := 1; i <= 5200; i++ {
		h = sha512.Sum512(append(h[:], key...))
	}
	out := ""
	for i := 0; i < 30; i += 5 {
		n := new(big.Int).SetBytes(h[i : i+5])
		out += fmt.Sprintf("%05d", new(big.Int).Mod(n, big.NewInt(100000)).Int64())
	}
	return out
}

// Case is one vector: the safety number of accounts A and B (ids "0x04" || hex), or
// "invalid" when an id is not an account key.
type Case struct {
	Name         string `json:"name"`
	Expect       string `json:"expect"`
	A            string `json:"a"`
	B            string `json:"b"`
	FingerprintA string `json:"fingerprint_a,omitempty"`
	FingerprintB string `json:"fingerprint_b,omitempty"`
	SafetyNumber string `json:"safety_number,omitempty"`
}

// File is the vector file.
type File struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}

func id(key []byte) string { return "0x" + hex.EncodeToString(key) }

func build() File {
	s := &stream{seed: []byte("chorus/v1/vectors/safety")}
	f := File{Description: "Chorus safety numbers: a 30-digit fingerprint per account key (iterated SHA-512, 5200 rounds, label chorus/v1/safety-number) and the 60-digit safety number of two accounts (the two fingerprints in ascending order, concatenated; the same for (a, b) and (b, a)). expect: success | invalid."}
	keys := make([][]byte, 6)
	for i := range keys {
		keys[i] = s.accountKey()
	}
	for i := 0; i+1 < len(keys); i++ {
		a, b := keys[i], keys[i+1]
		fa, fb := fingerprint(a), fingerprint(b)
		lo, hi := fa, fb
		if hi < lo {
			lo, hi = hi, lo
		}
		f.Cases = append(f.Cases,
			Case{Name: fmt.Sprintf("pair/%d", i), Expect: "success", A: id(a), B: id(b), FingerprintA: fa, FingerprintB: fb, SafetyNumber: lo + hi},
			Case{Name: fmt.Sprintf("pair/%d/swapped", i), Expect: "success", A: id(b), B: id(a), FingerprintA: fb, FingerprintB: fa, SafetyNumber: lo + hi})
	}
	fa := fingerprint(keys[0])
	f.Cases = append(f.Cases, Case{Name: "self", Expect: "success", A: id(keys[0]), B: id(keys[0]), FingerprintA: fa, FingerprintB: fa, SafetyNumber: fa + fa})
	bad := append([]byte{}, keys[1]...)
	bad[64] ^= 1 // no longer on the curve
	for i, b := range []string{id(bad), "0x" + hex.EncodeToString(keys[1][:33]), "", "0x04"} {
		f.Cases = append(f.Cases, Case{Name: fmt.Sprintf("invalid/%d", i), Expect: "invalid", A: id(keys[0]), B: b})
	}
	return f
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	b, err := json.MarshalIndent(build(), "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b = append(b, '\n')
	if err := os.WriteFile(filepath.Join(*out, "safety.json"), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
