package wire

import "golang.org/x/crypto/cryptobyte"

// CardInstallation is one entry of a device list: the installation's public identity
// (x3dh.PublicIdentity: id 16 || DH 32 || compressed secp256k1 signing key 33), whether
// it is revoked, and the installation's binding signature (its signing key's signature
// over the account key and its own identity; nil if the card does not carry it). The
// binding is not covered by the account signature: it authenticates itself.
type CardInstallation struct {
	ID      [16]byte
	DH      [32]byte
	Signing [33]byte
	Revoked bool
	Binding []byte // nil or BindingSize bytes
}

// BindingSize is the size of an installation's binding signature (secp256k1 R || S).
const BindingSize = 64

// Card is a contact card: an account's device list signed by the account key, the
// binding signatures of its installations, plus the current prekey bundle of each listed
// installation (bindings and bundles carry their own signatures by the installation keys
// and are not covered by the account signature, so anyone may forward them).
//
//	signed part: version(1) || account(65, uncompressed secp256k1) || clock u64 ||
//	             u16<entries: id(16) || dh(32) || signing(33) || revoked(1)>
//	card:        signed part || signature(64) ||
//	             u16<bindings: id(16) || binding(64), in entry order, listed ids only> ||
//	             u32<list of u16<bundle>>
type Card struct {
	Account       [65]byte
	Clock         uint64
	Installations []CardInstallation
	Signature     [64]byte
	Bundles       [][]byte
}

const (
	cardEntrySize   = 16 + 32 + 33 + 1
	cardBindingSize = 16 + BindingSize
)

// SignedPart returns the bytes covered by the account signature.
func (c *Card) SignedPart() ([]byte, error) {
	var b cryptobyte.Builder
	c.addSigned(&b)
	return finish(&b)
}

func (c *Card) addSigned(b *cryptobyte.Builder) {
	b.AddUint8(Version)
	b.AddBytes(c.Account[:])
	b.AddUint64(c.Clock)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, in := range c.Installations {
			b.AddBytes(in.ID[:])
			b.AddBytes(in.DH[:])
			b.AddBytes(in.Signing[:])
			b.AddUint8(boolByte(in.Revoked))
		}
	})
}

// Marshal encodes c.
func (c *Card) Marshal() ([]byte, error) {
	if len(c.Installations) > MaxCardInstallations || len(c.Bundles) > MaxCardInstallations {
		return nil, ErrTooLarge
	}
	for _, in := range c.Installations {
		if in.Binding != nil && len(in.Binding) != BindingSize {
			return nil, ErrMalformed
		}
	}
	var b cryptobyte.Builder
	c.addSigned(&b)
	b.AddBytes(c.Signature[:])
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, in := range c.Installations {
			if in.Binding != nil {
				b.AddBytes(in.ID[:])
				b.AddBytes(in.Binding)
			}
		}
	})
	addList16(&b, c.Bundles)
	return finish(&b)
}

// ParseCard decodes a contact card (without verifying anything).
func ParseCard(in []byte) (*Card, error) {
	s := cryptobyte.String(in)
	c := &Card{}
	var v uint8
	var entries cryptobyte.String
	if !s.ReadUint8(&v) || v != Version || !readFixed(&s, c.Account[:]) || !s.ReadUint64(&c.Clock) ||
		!s.ReadUint16LengthPrefixed(&entries) || len(entries)%cardEntrySize != 0 ||
		len(entries)/cardEntrySize > MaxCardInstallations {
		return nil, ErrMalformed
	}
	for !entries.Empty() {
		var e CardInstallation
		if !readFixed(&entries, e.ID[:]) || !readFixed(&entries, e.DH[:]) ||
			!readFixed(&entries, e.Signing[:]) || !readBool(&entries, &e.Revoked) {
			return nil, ErrMalformed
		}
		c.Installations = append(c.Installations, e)
	}
	var bindings cryptobyte.String
	if !readFixed(&s, c.Signature[:]) || !s.ReadUint16LengthPrefixed(&bindings) || len(bindings)%cardBindingSize != 0 {
		return nil, ErrMalformed
	}
	next := 0 // bindings follow entry order: each names an entry after the previous one's
	for !bindings.Empty() {
		var id [16]byte
		sig := make([]byte, BindingSize)
		if !readFixed(&bindings, id[:]) || !readFixed(&bindings, sig) {
			return nil, ErrMalformed
		}
		for next < len(c.Installations) && c.Installations[next].ID != id {
			next++
		}
		if next == len(c.Installations) {
			return nil, ErrMalformed
		}
		c.Installations[next].Binding = sig
		next++
	}
	if !readList16(&s, MaxCardInstallations, &c.Bundles) || !s.Empty() {
		return nil, ErrMalformed
	}
	return c, nil
}
