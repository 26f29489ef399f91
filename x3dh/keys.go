package x3dh

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"
)

// Type tags of the secret key encodings (second byte, after the version).
const (
	tagIdentity      uint8 = 1
	tagSignedPrekey  uint8 = 2
	tagOneTimePrekey uint8 = 3
)

// Encoded sizes.
const (
	publicIdentitySize = 16 + 32 + 33
	identitySize       = 2 + 16 + 32 + 32
	signedPrekeySize   = 2 + 4 + 8 + 32 + 64
	oneTimePrekeySize  = 2 + 4 + 32
)

// InstallationID identifies an installation (a device). It is random.
type InstallationID [16]byte

// PublicIdentity is the public part of an installation identity.
type PublicIdentity struct {
	ID      InstallationID
	DH      [32]byte // X25519 identity key
	Signing [33]byte // compressed secp256k1 signing key
}

// appendPublicIdentity appends the 81-byte encoding ID || DH || Signing.
func appendPublicIdentity(b []byte, p *PublicIdentity) []byte {
	b = append(b, p.ID[:]...)
	b = append(b, p.DH[:]...)
	return append(b, p.Signing[:]...)
}

func readPublicIdentity(s *cryptobyte.String, p *PublicIdentity) bool {
	return s.CopyBytes(p.ID[:]) && s.CopyBytes(p.DH[:]) && s.CopyBytes(p.Signing[:])
}

// check validates both public keys of p.
func (p *PublicIdentity) check() error {
	if err := checkPoint(&p.DH); err != nil {
		return err
	}
	return checkSigningKey(&p.Signing)
}

// Identity is an installation's long-term secret identity. It is immutable.
type Identity struct {
	id      InstallationID
	dh      *ecdh.PrivateKey
	signing *ecdsa.PrivateKey
	pub     PublicIdentity
}

// GenerateIdentity creates an identity from rand, reading in order 16 bytes of
// installation id, 32 bytes of X25519 private key and 32 bytes of secp256k1
// private key (repeated while not in [1, n-1]).
func GenerateIdentity(rand io.Reader) (*Identity, error) {
	var id InstallationID
	if _, err := io.ReadFull(rand, id[:]); err != nil {
		return nil, fmt.Errorf("x3dh: reading randomness: %w", err)
	}
	dhKey, err := generateX25519(rand)
	if err != nil {
		return nil, err
	}
	signing, err := generateSecp256k1(rand)
	if err != nil {
		return nil, err
	}
	return newIdentity(id, dhKey, signing), nil
}

func newIdentity(id InstallationID, dhKey *ecdh.PrivateKey, signing *ecdsa.PrivateKey) *Identity {
	ident := &Identity{id: id, dh: dhKey, signing: signing}
	ident.pub.ID = id
	copy(ident.pub.DH[:], dhKey.PublicKey().Bytes())
	copy(ident.pub.Signing[:], crypto.CompressPubkey(&signing.PublicKey))
	return ident
}

func generateX25519(rand io.Reader) (*ecdh.PrivateKey, error) {
	var b [32]byte
	defer clear(b[:])
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return nil, fmt.Errorf("x3dh: reading randomness: %w", err)
	}
	return ecdh.X25519().NewPrivateKey(b[:])
}

func generateSecp256k1(rand io.Reader) (*ecdsa.PrivateKey, error) {
	var b [32]byte
	defer clear(b[:])
	for range 8 {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("x3dh: reading randomness: %w", err)
		}
		if k, err := crypto.ToECDSA(b[:]); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("x3dh: randomness source yields no valid secp256k1 scalar")
}

// ID returns the installation id.
func (id *Identity) ID() InstallationID { return id.id }

// Public returns the public identity.
func (id *Identity) Public() PublicIdentity { return id.pub }

// SigningKey returns the installation's secp256k1 signing key. Callers must
// not modify it.
func (id *Identity) SigningKey() *ecdsa.PrivateKey { return id.signing }

// MarshalBinary encodes the identity, secrets included, for persistence:
// version || 0x01 || id (16) || X25519 private (32) || secp256k1 private (32).
func (id *Identity) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, identitySize)
	b = append(b, Version, tagIdentity)
	b = append(b, id.id[:]...)
	b = append(b, id.dh.Bytes()...)
	return append(b, crypto.FromECDSA(id.signing)...), nil
}

// UnmarshalBinary decodes an encoding produced by MarshalBinary. On error the
// receiver is unchanged.
func (id *Identity) UnmarshalBinary(data []byte) error {
	s := cryptobyte.String(data)
	if err := readSecretHeader(&s, tagIdentity, identitySize); err != nil {
		return err
	}
	var (
		iid       InstallationID
		dhb, sigb []byte
	)
	if !s.CopyBytes(iid[:]) || !s.ReadBytes(&dhb, 32) || !s.ReadBytes(&sigb, 32) {
		return ErrMalformed
	}
	dhKey, err := ecdh.X25519().NewPrivateKey(dhb)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	signing, err := crypto.ToECDSA(sigb)
	if err != nil {
		return fmt.Errorf("%w: secp256k1 key: %v", ErrMalformed, err)
	}
	*id = *newIdentity(iid, dhKey, signing)
	return nil
}

// readSecretHeader checks the total length, version and type tag of a secret
// key encoding.
func readSecretHeader(s *cryptobyte.String, tag uint8, size int) error {
	var v, t uint8
	if !s.ReadUint8(&v) {
		return ErrMalformed
	}
	if v != Version {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	if !s.ReadUint8(&t) || t != tag || len(*s) != size-2 {
		return ErrMalformed
	}
	return nil
}

// String returns a redacted description.
func (id Identity) String() string { return "x3dh.Identity{REDACTED}" }

// GoString returns a redacted description.
func (id Identity) GoString() string { return id.String() }

// LogValue returns a redacted value for log/slog.
func (id Identity) LogValue() slog.Value { return slog.StringValue(id.String()) }

// SignedPrekey is a medium-term X25519 prekey signed by an identity's signing
// key, with an expiry. It is immutable.
type SignedPrekey struct {
	id      uint32
	expires int64
	priv    *ecdh.PrivateKey
	pub     [32]byte
	sig     [64]byte
}

// NewSignedPrekey creates a signed prekey from 32 bytes of rand and signs it:
// the signature covers the installation id, the identity X25519 key, the
// prekey id, the prekey public key and the expiry (spec: "Signed prekey").
func (id *Identity) NewSignedPrekey(rand io.Reader, prekeyID uint32, expires time.Time) (*SignedPrekey, error) {
	priv, err := generateX25519(rand)
	if err != nil {
		return nil, err
	}
	spk := &SignedPrekey{id: prekeyID, expires: expires.Unix(), priv: priv}
	copy(spk.pub[:], priv.PublicKey().Bytes())
	digest := signedPrekeyDigest(&id.pub, prekeyID, &spk.pub, spk.expires)
	sig, err := crypto.Sign(digest[:], id.signing)
	if err != nil {
		return nil, fmt.Errorf("x3dh: signing prekey: %w", err)
	}
	copy(spk.sig[:], sig[:64])
	return spk, nil
}

// signedPrekeyDigest is SHA-256 of the length-prefixed encoding of the signed
// prekey statement.
func signedPrekeyDigest(owner *PublicIdentity, prekeyID uint32, pub *[32]byte, expires int64) [32]byte {
	var buf [128]byte
	b := cryptobyte.NewFixedBuilder(buf[:0])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(labelSignedPrekey)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(owner.ID[:]) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(owner.DH[:]) })
	b.AddUint32(prekeyID)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(pub[:]) })
	b.AddUint64(uint64(expires))
	return sha256.Sum256(b.BytesOrPanic())
}

// ID returns the prekey id.
func (k *SignedPrekey) ID() uint32 { return k.id }

// Public returns the X25519 public key.
func (k *SignedPrekey) Public() [32]byte { return k.pub }

// Expires returns the expiry in Unix seconds.
func (k *SignedPrekey) Expires() int64 { return k.expires }

// PrivateKey returns the X25519 private key (the responder's initial Double
// Ratchet key).
func (k *SignedPrekey) PrivateKey() *ecdh.PrivateKey { return k.priv }

// MarshalBinary encodes the prekey, secret included, for persistence:
// version || 0x02 || id (u32) || expires (u64) || X25519 private (32) ||
// signature (64).
func (k *SignedPrekey) MarshalBinary() ([]byte, error) {
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, signedPrekeySize))
	b.AddUint8(Version)
	b.AddUint8(tagSignedPrekey)
	b.AddUint32(k.id)
	b.AddUint64(uint64(k.expires))
	b.AddBytes(k.priv.Bytes())
	b.AddBytes(k.sig[:])
	return b.Bytes()
}

// UnmarshalBinary decodes an encoding produced by MarshalBinary. On error the
// receiver is unchanged.
func (k *SignedPrekey) UnmarshalBinary(data []byte) error {
	s := cryptobyte.String(data)
	if err := readSecretHeader(&s, tagSignedPrekey, signedPrekeySize); err != nil {
		return err
	}
	var (
		n   SignedPrekey
		exp uint64
		raw []byte
	)
	if !s.ReadUint32(&n.id) || !s.ReadUint64(&exp) || !s.ReadBytes(&raw, 32) || !s.CopyBytes(n.sig[:]) {
		return ErrMalformed
	}
	priv, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	n.expires = int64(exp)
	n.priv = priv
	copy(n.pub[:], priv.PublicKey().Bytes())
	*k = n
	return nil
}

// String returns a redacted description.
func (k SignedPrekey) String() string {
	return fmt.Sprintf("x3dh.SignedPrekey{ID: %d, Expires: %d, REDACTED}", k.id, k.expires)
}

// GoString returns a redacted description.
func (k SignedPrekey) GoString() string { return k.String() }

// LogValue returns a redacted value for log/slog.
func (k SignedPrekey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// OneTimePrekey is a single-use X25519 prekey. It is immutable.
type OneTimePrekey struct {
	id   uint32
	priv *ecdh.PrivateKey
	pub  [32]byte
}

// OneTimePrekeyPublic is the public part of a one-time prekey, as published in
// a bundle.
type OneTimePrekeyPublic struct {
	ID  uint32
	Key [32]byte
}

// GenerateOneTimePrekeys creates n one-time prekeys with ids firstID,
// firstID+1, ..., each from 32 bytes of rand.
func GenerateOneTimePrekeys(rand io.Reader, firstID uint32, n int) ([]*OneTimePrekey, error) {
	if n < 0 || uint64(firstID)+uint64(n) > 1<<32 {
		return nil, fmt.Errorf("x3dh: cannot generate %d one-time prekeys from id %d", n, firstID)
	}
	out := make([]*OneTimePrekey, n)
	for i := range out {
		priv, err := generateX25519(rand)
		if err != nil {
			return nil, err
		}
		out[i] = newOneTimePrekey(firstID+uint32(i), priv)
	}
	return out, nil
}

func newOneTimePrekey(id uint32, priv *ecdh.PrivateKey) *OneTimePrekey {
	k := &OneTimePrekey{id: id, priv: priv}
	copy(k.pub[:], priv.PublicKey().Bytes())
	return k
}

// ID returns the prekey id.
func (k *OneTimePrekey) ID() uint32 { return k.id }

// Public returns the X25519 public key.
func (k *OneTimePrekey) Public() [32]byte { return k.pub }

// MarshalBinary encodes the prekey, secret included, for persistence:
// version || 0x03 || id (u32) || X25519 private (32).
func (k *OneTimePrekey) MarshalBinary() ([]byte, error) {
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, oneTimePrekeySize))
	b.AddUint8(Version)
	b.AddUint8(tagOneTimePrekey)
	b.AddUint32(k.id)
	b.AddBytes(k.priv.Bytes())
	return b.Bytes()
}

// UnmarshalBinary decodes an encoding produced by MarshalBinary. On error the
// receiver is unchanged.
func (k *OneTimePrekey) UnmarshalBinary(data []byte) error {
	s := cryptobyte.String(data)
	if err := readSecretHeader(&s, tagOneTimePrekey, oneTimePrekeySize); err != nil {
		return err
	}
	var (
		id  uint32
		raw []byte
	)
	if !s.ReadUint32(&id) || !s.ReadBytes(&raw, 32) {
		return ErrMalformed
	}
	priv, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	*k = *newOneTimePrekey(id, priv)
	return nil
}

// String returns a redacted description.
func (k OneTimePrekey) String() string {
	return fmt.Sprintf("x3dh.OneTimePrekey{ID: %d, REDACTED}", k.id)
}

// GoString returns a redacted description.
func (k OneTimePrekey) GoString() string { return k.String() }

// LogValue returns a redacted value for log/slog.
func (k OneTimePrekey) LogValue() slog.Value { return slog.StringValue(k.String()) }
