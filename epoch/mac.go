package epoch

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
)

// HMAC-SHA256 and HKDF-Expand for 32-byte keys and short inputs without allocating
// (issue 16: crypto/hmac allocates two digests and their marshalled states per key, and
// the per-message derivations — chain step, message keys, outer key — take a fresh key
// each time: ≈ 40 allocations a send). Same outputs as crypto/hmac and crypto/hkdf
// (TestMacMatchesStdlib); inputs longer than macMaxInput take the standard library.

// macMaxInput is the longest message mac32 hashes on the stack.
const macMaxInput = 128

// mac32 returns HMAC-SHA256(key, a || b).
func mac32(key *[IDSize]byte, a, b []byte) [IDSize]byte {
	n := len(a) + len(b)
	if n > macMaxInput {
		return macLong(append([]byte(nil), key[:]...), append(append(make([]byte, 0, n), a...), b...))
	}
	// The key is shorter than SHA-256's block: zero-padded to it, XORed with the pads.
	var in [sha256.BlockSize + macMaxInput]byte
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		var k byte
		if i < IDSize {
			k = key[i]
		}
		in[i] = k ^ 0x36
		outer[i] = k ^ 0x5c
	}
	copy(in[sha256.BlockSize:], a)
	copy(in[sha256.BlockSize+len(a):], b)
	inner := sha256.Sum256(in[:sha256.BlockSize+n])
	copy(outer[sha256.BlockSize:], inner[:])
	out := sha256.Sum256(outer[:])
	clear(in[:])
	clear(outer[:])
	clear(inner[:])
	return out
}

// macLong is mac32 through crypto/hmac, on copies (so that mac32's arguments stay on
// their callers' stacks).
func macLong(key, msg []byte) [IDSize]byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	var out [IDSize]byte
	copy(out[:], m.Sum(nil))
	clear(key)
	return out
}

// expandInto fills out (at most 2 × 32 bytes) with HKDF-Expand(prk, info, len(out)):
// T(1) = HMAC(prk, info || 0x01), T(2) = HMAC(prk, T(1) || info || 0x02).
func expandInto(prk *[IDSize]byte, info string, out []byte) {
	if len(out) > 2*IDSize || len(info)+IDSize+1 > macMaxInput {
		key := append([]byte(nil), prk[:]...) // a copy: prk stays on its caller's stack
		defer clear(key)
		k, err := hkdf.Expand(sha256.New, key, info, len(out))
		if err != nil {
			panic("epoch: hkdf: " + err.Error()) // impossible: short outputs of SHA-256
		}
		copy(out, k)
		clear(k)
		return
	}
	var buf [IDSize + macMaxInput]byte
	msg := append(append(buf[:0], info...), 0x01)
	t := mac32(prk, msg, nil)
	n := copy(out, t[:])
	if n < len(out) {
		msg = append(append(append(buf[:0], t[:]...), info...), 0x02)
		t = mac32(prk, msg, nil)
		copy(out[n:], t[:])
	}
	clear(t[:])
	clear(buf[:])
}
