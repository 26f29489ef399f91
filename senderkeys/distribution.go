package senderkeys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"
)

// Distribution is what a recipient needs to open a sender's messages from Iteration on:
// the chain key at that iteration and the sender key's public signing key, bound to the
// sending installation by that installation's signature.
//
// The signature covers Group, Installation, KeyID, SigningKey and the previous-key fields,
// not Iteration or ChainKey: a receiver can therefore forward its current state of the
// sender key (Receiver.Forward) under the owner's signature, and a forwarder cannot
// substitute the signing key, so it cannot forge messages. It can corrupt the chain key it
// hands on (the newcomer then fails to decrypt), exactly as it could withhold it.
//
// HasPrev, PrevKeyID and PrevLastIteration name the sender key this one replaced and the
// number of iterations that key sealed (its Iteration when rotated), so a receiver can
// report the messages of the old epoch it never saw. When HasPrev is false the other two
// are zero.
type Distribution struct {
	Group             []byte
	Installation      [16]byte
	KeyID             KeyID
	Iteration         uint32
	ChainKey          [32]byte `json:"-"` // secret: never in JSON (or logs through slog's JSON handler)
	SigningKey        [33]byte // compressed secp256k1 public key of the sender key
	HasPrev           bool
	PrevKeyID         KeyID
	PrevLastIteration uint32
	Signature         [64]byte // owner installation's signature, R || S
}

// distributionSize is the encoded size without the group bytes.
const distributionSize = 1 + 2 + 16 + 8 + 4 + keySize + 33 + 1 + 8 + 4 + SignatureSize

// Distribution returns the distribution of the sender's current state (its next
// iteration and chain key), signed by the owner installation's secp256k1 key.
// Signatures are deterministic (RFC 6979), so the signature is the same for every
// distribution of one sender key.
func (s *Sender) Distribution(installation *ecdsa.PrivateKey, installationID [16]byte) (*Distribution, error) {
	if s.signing == nil {
		return nil, errUninitialized
	}
	if installation == nil {
		return nil, fmt.Errorf("senderkeys: nil installation key")
	}
	d := &Distribution{
		Group:             append([]byte(nil), s.group...),
		Installation:      installationID,
		KeyID:             s.keyID,
		Iteration:         s.iteration,
		ChainKey:          s.chain,
		SigningKey:        s.public,
		HasPrev:           s.hasPrev,
		PrevKeyID:         s.prevKeyID,
		PrevLastIteration: s.prevLast,
	}
	digest := d.digest()
	sig, err := crypto.Sign(digest[:], installation)
	if err != nil {
		return nil, fmt.Errorf("senderkeys: signing distribution: %w", err)
	}
	copy(d.Signature[:], sig[:SignatureSize])
	return d, nil
}

// digest is the 32-byte digest the owner signs: SHA-256(u8<labelDistributionSignature> ||
// u16<group> || installation || key_id || signing_key || has_prev || prev_key_id ||
// prev_last_iteration).
func (d *Distribution) digest() [32]byte {
	b := cryptobyte.NewBuilder(make([]byte, 0, 1+len(labelDistributionSignature)+2+len(d.Group)+16+8+33+13))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(labelDistributionSignature)) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(d.Group) })
	b.AddBytes(d.Installation[:])
	b.AddBytes(d.KeyID[:])
	b.AddBytes(d.SigningKey[:])
	addPrev(b, d.HasPrev, d.PrevKeyID, d.PrevLastIteration)
	return sha256.Sum256(b.BytesOrPanic()) // lengths are validated by callers
}

// validate checks the fields the encoding constrains.
func (d *Distribution) validate() error {
	if !validGroup(d.Group) {
		return fmt.Errorf("%w: group reference of %d bytes", ErrMalformed, len(d.Group))
	}
	if d.SigningKey[0] != 0x02 && d.SigningKey[0] != 0x03 {
		return fmt.Errorf("%w: signing key is not a compressed point", ErrMalformed)
	}
	return checkPrev(d.HasPrev, d.PrevKeyID, d.PrevLastIteration, d.KeyID)
}

// verify checks the owner's signature under a 33- or 65-byte public key.
func (d *Distribution) verify(owner []byte) bool {
	digest := d.digest()
	return crypto.VerifySignature(owner, digest[:], d.Signature[:])
}

// Verify checks the fields the encoding constrains and the owner installation's
// signature (installationSigningKey, compressed), without a receiver: it lets a recipient
// check the public part of a distribution (every field but Iteration and ChainKey, which
// the signature does not cover) before spending work on its secret part. Errors:
// ErrMalformed, ErrBadSignature.
func (d *Distribution) Verify(installationSigningKey [33]byte) error {
	if err := d.validate(); err != nil {
		return err
	}
	if !d.verify(installationSigningKey[:]) {
		return ErrBadSignature
	}
	return nil
}

// signedEqual reports whether d and e carry the same signed statement.
func (d *Distribution) signedEqual(e *Distribution) bool {
	return bytes.Equal(d.Group, e.Group) && d.Installation == e.Installation && d.KeyID == e.KeyID &&
		d.SigningKey == e.SigningKey && d.HasPrev == e.HasPrev && d.PrevKeyID == e.PrevKeyID &&
		d.PrevLastIteration == e.PrevLastIteration
}

// MarshalBinary encodes the distribution (spec/README.md, senderkeys: "Distribution").
// It contains the chain key: send it only inside an encrypted pairwise session.
func (d *Distribution) MarshalBinary() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, distributionSize+len(d.Group)))
	b.AddUint8(Version)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(d.Group) })
	b.AddBytes(d.Installation[:])
	b.AddBytes(d.KeyID[:])
	b.AddUint32(d.Iteration)
	b.AddBytes(d.ChainKey[:])
	b.AddBytes(d.SigningKey[:])
	addPrev(b, d.HasPrev, d.PrevKeyID, d.PrevLastIteration)
	b.AddBytes(d.Signature[:])
	return b.Bytes()
}

// ParseDistribution decodes a distribution. It checks the encoding only; Receiver.Process
// verifies the signature and the signing key.
func ParseDistribution(data []byte) (*Distribution, error) {
	in := cryptobyte.String(data)
	var version uint8
	if !in.ReadUint8(&version) {
		return nil, fmt.Errorf("%w: empty distribution", ErrMalformed)
	}
	if version != Version {
		return nil, fmt.Errorf("%w: distribution version %d", ErrUnsupportedVersion, version)
	}
	var (
		d     Distribution
		group cryptobyte.String
	)
	if !in.ReadUint16LengthPrefixed(&group) || !in.CopyBytes(d.Installation[:]) || !in.CopyBytes(d.KeyID[:]) ||
		!in.ReadUint32(&d.Iteration) || !in.CopyBytes(d.ChainKey[:]) || !in.CopyBytes(d.SigningKey[:]) {
		return nil, fmt.Errorf("%w: truncated distribution", ErrMalformed)
	}
	var err error
	if d.HasPrev, d.PrevKeyID, d.PrevLastIteration, err = readPrev(&in, d.KeyID); err != nil {
		return nil, err
	}
	if !in.CopyBytes(d.Signature[:]) || !in.Empty() {
		return nil, fmt.Errorf("%w: distribution length", ErrMalformed)
	}
	d.Group = append([]byte(nil), group...)
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// String describes the distribution without its chain key.
func (d *Distribution) String() string {
	if d == nil {
		return "senderkeys.Distribution(nil)"
	}
	return fmt.Sprintf("senderkeys.Distribution{key:%s iteration:%d chain:REDACTED prev:%t}", d.KeyID, d.Iteration, d.HasPrev)
}

// GoString is String: %#v must not print the chain key either.
func (d *Distribution) GoString() string { return d.String() }

// Format prints String for every verb, also for a dereferenced Distribution (a value
// receiver: fmt would otherwise print the fields, the chain key included).
func (d Distribution) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }
