package x3dh

import (
	"crypto/ecdh"
	"crypto/subtle"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
)

// lowOrderPoints lists the canonical encodings (u < 2^255-19) of the X25519
// u-coordinates of small order on Curve25519 and its twist: 0, 1, the two
// points of order 8 and p-1. Non-canonical encodings are rejected before this
// list is consulted.
var lowOrderPoints = [5][32]byte{
	{},
	{1},
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
		0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

// checkPoint rejects X25519 public keys that are not canonical (bit 255 set,
// or u >= 2^255-19) or that have small order.
func checkPoint(u *[32]byte) error {
	if u[31]&0x80 != 0 || isAtLeastP(u) {
		return ErrInvalidPoint
	}
	for i := range lowOrderPoints {
		if subtle.ConstantTimeCompare(u[:], lowOrderPoints[i][:]) == 1 {
			return ErrInvalidPoint
		}
	}
	return nil
}

// isAtLeastP reports whether the little-endian u (bit 255 clear) is >= 2^255-19.
func isAtLeastP(u *[32]byte) bool {
	if u[31] != 0x7f || u[0] < 0xed {
		return false
	}
	for _, b := range u[1:31] {
		if b != 0xff {
			return false
		}
	}
	return true
}

// dh computes X25519(priv, pub), mapping every failure (including an
// all-zero result) to ErrInvalidPoint. The caller has run checkPoint.
func dh(priv *ecdh.PrivateKey, pub *[32]byte) ([]byte, error) {
	pk, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPoint, err)
	}
	out, err := priv.ECDH(pk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPoint, err)
	}
	return out, nil
}

// checkSigningKey rejects a compressed secp256k1 key that is not on the curve.
func checkSigningKey(k *[33]byte) error {
	if k[0] != 2 && k[0] != 3 {
		return ErrInvalidSigningKey
	}
	if _, err := crypto.DecompressPubkey(k[:]); err != nil {
		return ErrInvalidSigningKey
	}
	return nil
}
