package epoch

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/internal/blake3cat"
)

// signatureAt returns the offset of the signature in an encoded key block part (after
// part and parts, before the slots), checking only that the header fits.
func signatureAt(enc []byte) (int, error) {
	off := 2 + InstallationSize + IDSize
	rekey := len(enc) > 1 && enc[1] == KindRekey
	if rekey {
		off += NonceSize
	}
	if len(enc) <= off {
		return 0, fmt.Errorf("%w: key block of %d bytes", ErrMalformed, len(enc))
	}
	off += 1 + int(enc[off])*IDSize
	if rekey && enc[0] == BlockVersion { // the heads
		if len(enc) <= off {
			return 0, fmt.Errorf("%w: key block of %d bytes", ErrMalformed, len(enc))
		}
		off += 1 + int(enc[off])*IDSize
	}
	off += IDSize + 2 + 2
	if len(enc) < off+SignatureSize+4 {
		return 0, fmt.Errorf("%w: key block of %d bytes", ErrMalformed, len(enc))
	}
	return off, nil
}

// KeyBlockDigest returns the digest an encoded key block part of group is signed over,
// H(u8<"chorus/v2/epoch/key-block-signature"> || group || the part with its signature
// left out) with H = BLAKE3-256 for a part of version BlockVersion, 4 or 3, SHA-256 for one of
// version 2, and the part's signature (spec: "Key block signature"). It checks only that
// the header fits. BLAKE3 (issue 13): every receiver hashes the whole part, ≈ 150 KB at
// 1000 installations, and SHA-256 took ≈ 3 times as long (one version byte, under the
// digest, picks the function).
func KeyBlockDigest(group ID, enc []byte) (digest [32]byte, sig []byte, err error) {
	return KeyBlockDigestWith(nil, group, enc)
}

// KeyBlockDigestWith is KeyBlockDigest hashing a BLAKE3 part (version BlockVersion, 4 or 3) with b, a
// BLAKE3 hasher the caller lends (nil: a new one), so that a receiver hashes a key
// event's envelope and its block with one 18 KB hasher (issue 13). The part is hashed
// where it is (blake3cat.Sum256InPlace: a receiver's part was just written by the outer
// open; no copy of it into the hasher's buffer first).
func KeyBlockDigestWith(b *blake3cat.Hasher, group ID, enc []byte) (digest [32]byte, sig []byte, err error) {
	off, err := signatureAt(enc)
	if err != nil {
		return digest, nil, err
	}
	if enc[0] == BlockVersion || enc[0] == PrevIDVersion || enc[0] == LegacyIDVersion {
		if b == nil {
			b = new(blake3cat.Hasher)
		}
		var label [1 + len(labelBlockSignature)]byte
		digest = b.Sum256InPlace(appendLabel(label[:0], labelBlockSignature), group[:], enc[:off], enc[off+SignatureSize:])
		return digest, enc[off : off+SignatureSize], nil
	}
	var h hash.Hash = sha256.New()
	h.Write(appendLabel(nil, labelBlockSignature))
	h.Write(group[:])
	h.Write(enc[:off])
	h.Write(enc[off+SignatureSize:])
	h.Sum(digest[:0])
	return digest, enc[off : off+SignatureSize], nil
}

// SignKeyBlock signs an encoded key block part of group in place with the author
// installation's signing key.
func SignKeyBlock(group ID, enc []byte, key *ecdsa.PrivateKey) error {
	d, sig, err := KeyBlockDigest(group, enc)
	if err != nil {
		return err
	}
	s, err := crypto.Sign(d[:], key)
	if err != nil {
		return err
	}
	copy(sig, s[:SignatureSize])
	return nil
}

// VerifyKeyBlock reports whether an encoded key block part of group is signed by the
// 65-byte uncompressed key pub, checked with verify (crypto.VerifySignature's contract).
func VerifyKeyBlock(verify Verifier, group ID, enc, pub []byte) bool {
	return VerifyKeyBlockWith(nil, verify, group, enc, pub)
}

// VerifyKeyBlockWith is VerifyKeyBlock with a lent BLAKE3 hasher (see KeyBlockDigestWith).
func VerifyKeyBlockWith(b *blake3cat.Hasher, verify Verifier, group ID, enc, pub []byte) bool {
	d, sig, err := KeyBlockDigestWith(b, group, enc)
	return err == nil && verify(pub, d[:], sig)
}
