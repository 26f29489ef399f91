package x3dh

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"
)

// Bundle is an installation's published prekey bundle. Its encoding is
// canonical: ParseBundle followed by MarshalBinary returns the input bytes.
type Bundle struct {
	Version        uint8
	Identity       PublicIdentity
	SignedPrekeyID uint32
	SignedPrekey   [32]byte
	Expires        int64    // Unix seconds; the signed prekey is valid while now < Expires
	Signature      [64]byte // secp256k1 R||S over the signed prekey statement
	OneTimePrekeys []OneTimePrekeyPublic
}

// NewBundle assembles the bundle of id with the signed prekey spk and the
// public halves of otks (at most MaxBundleOneTimePrekeys). It checks that spk
// was signed by id.
func NewBundle(id *Identity, spk *SignedPrekey, otks []*OneTimePrekey) (*Bundle, error) {
	if len(otks) > MaxBundleOneTimePrekeys {
		return nil, fmt.Errorf("x3dh: %d one-time prekeys in a bundle, at most %d", len(otks), MaxBundleOneTimePrekeys)
	}
	b := &Bundle{
		Version:        Version,
		Identity:       id.pub,
		SignedPrekeyID: spk.id,
		SignedPrekey:   spk.pub,
		Expires:        spk.expires,
		Signature:      spk.sig,
	}
	if !b.signatureValid() {
		return nil, fmt.Errorf("%w: signed prekey %d was not signed by this identity", ErrBadSignature, spk.id)
	}
	if len(otks) > 0 {
		b.OneTimePrekeys = make([]OneTimePrekeyPublic, len(otks))
		for i, k := range otks {
			b.OneTimePrekeys[i] = OneTimePrekeyPublic{ID: k.id, Key: k.pub}
		}
	}
	return b, nil
}

// bundleFixedSize is the encoded size of a bundle without one-time prekeys.
const bundleFixedSize = 1 + publicIdentitySize + 4 + 32 + 8 + 64 + 2

// MarshalBinary encodes the bundle (spec: "Bundle encoding"):
// version || identity (81) || spk id (u32) || spk (32) || expires (u64) ||
// signature (64) || u16 count || count × (id (u32) || key (32)).
func (b *Bundle) MarshalBinary() ([]byte, error) {
	if b.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, b.Version)
	}
	if len(b.OneTimePrekeys) > MaxBundleOneTimePrekeys {
		return nil, fmt.Errorf("%w: %d one-time prekeys", ErrMalformed, len(b.OneTimePrekeys))
	}
	out := make([]byte, 0, bundleFixedSize+len(b.OneTimePrekeys)*36)
	out = append(out, b.Version)
	out = appendPublicIdentity(out, &b.Identity)
	c := cryptobyte.NewFixedBuilder(out)
	c.AddUint32(b.SignedPrekeyID)
	c.AddBytes(b.SignedPrekey[:])
	c.AddUint64(uint64(b.Expires))
	c.AddBytes(b.Signature[:])
	c.AddUint16(uint16(len(b.OneTimePrekeys)))
	for i := range b.OneTimePrekeys {
		c.AddUint32(b.OneTimePrekeys[i].ID)
		c.AddBytes(b.OneTimePrekeys[i].Key[:])
	}
	return c.Bytes()
}

// ParseBundle decodes a bundle. It checks structure only; call Verify before
// using the bundle.
func ParseBundle(data []byte) (*Bundle, error) {
	s := cryptobyte.String(data)
	var b Bundle
	if !s.ReadUint8(&b.Version) {
		return nil, ErrMalformed
	}
	if b.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, b.Version)
	}
	var (
		exp uint64
		n   uint16
	)
	if !readPublicIdentity(&s, &b.Identity) || !s.ReadUint32(&b.SignedPrekeyID) ||
		!s.CopyBytes(b.SignedPrekey[:]) || !s.ReadUint64(&exp) || !s.CopyBytes(b.Signature[:]) ||
		!s.ReadUint16(&n) {
		return nil, ErrMalformed
	}
	b.Expires = int64(exp)
	if int(n) > MaxBundleOneTimePrekeys || len(s) != int(n)*36 {
		return nil, ErrMalformed
	}
	if n > 0 {
		b.OneTimePrekeys = make([]OneTimePrekeyPublic, n)
		for i := range b.OneTimePrekeys {
			s.ReadUint32(&b.OneTimePrekeys[i].ID)
			s.CopyBytes(b.OneTimePrekeys[i].Key[:])
		}
	}
	return &b, nil
}

// Verify checks, in this order, the version, that every X25519 key is
// canonical and not of low order, that the signed prekey has not expired at
// now, and the signature of the signed prekey. The error wraps ErrVersion,
// ErrInvalidPoint, ErrExpiredPrekey, ErrInvalidSigningKey or ErrBadSignature.
func (b *Bundle) Verify(now time.Time) error {
	if b.Version != Version {
		return fmt.Errorf("%w: %d", ErrVersion, b.Version)
	}
	if err := checkPoint(&b.Identity.DH); err != nil {
		return fmt.Errorf("%w (identity key)", err)
	}
	if err := checkPoint(&b.SignedPrekey); err != nil {
		return fmt.Errorf("%w (signed prekey %d)", err, b.SignedPrekeyID)
	}
	for i := range b.OneTimePrekeys {
		if err := checkPoint(&b.OneTimePrekeys[i].Key); err != nil {
			return fmt.Errorf("%w (one-time prekey %d)", err, b.OneTimePrekeys[i].ID)
		}
	}
	if now.Unix() >= b.Expires {
		return fmt.Errorf("%w: signed prekey %d expired at %d", ErrExpiredPrekey, b.SignedPrekeyID, b.Expires)
	}
	if !b.signatureValid() {
		if err := checkSigningKey(&b.Identity.Signing); err != nil {
			return err
		}
		return ErrBadSignature
	}
	return nil
}

func (b *Bundle) signatureValid() bool {
	digest := signedPrekeyDigest(&b.Identity, b.SignedPrekeyID, &b.SignedPrekey, b.Expires)
	return crypto.VerifySignature(b.Identity.Signing[:], digest[:], b.Signature[:])
}
