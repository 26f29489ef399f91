package devicelist

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"
)

// Entry is one installation of a device list: its public identity (x3dh.PublicIdentity:
// id 16 || DH 32 || compressed secp256k1 signing key 33), whether it is revoked, and its
// binding signature (its signing key's signature over the account key and its own
// identity; nil if the list does not carry it). The binding is not covered by the account
// signature: it authenticates itself.
type Entry struct {
	ID      [16]byte
	DH      [32]byte
	Signing [33]byte
	Revoked bool
	Binding []byte // nil or BindingSize bytes
}

// List is an account's device list: the entries at a clock, signed by the account key,
// with the binding signatures of its installations and the current prekey bundle of each
// listed installation (bindings and bundles carry their own signatures by the
// installation keys and are not covered by the account signature).
//
//	signed part: version(1) || account(65, uncompressed secp256k1) || clock u64 ||
//	             u16<entries: id(16) || dh(32) || signing(33) || revoked(1)>
//	list:        signed part || signature(64) ||
//	             u16<bindings: id(16) || binding(64), in entry order, listed ids only> ||
//	             u32<list of u16<bundle>>
type List struct {
	Account   [AccountKeySize]byte
	Clock     uint64
	Entries   []Entry
	Signature [SignatureSize]byte
	Bundles   [][]byte
}

// SignedPart returns the bytes covered by the account signature.
func (l *List) SignedPart() ([]byte, error) {
	var b cryptobyte.Builder
	l.addSigned(&b)
	return finish(&b)
}

func (l *List) addSigned(b *cryptobyte.Builder) {
	b.AddUint8(Version)
	b.AddBytes(l.Account[:])
	b.AddUint64(l.Clock)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range l.Entries {
			b.AddBytes(e.ID[:])
			b.AddBytes(e.DH[:])
			b.AddBytes(e.Signing[:])
			if e.Revoked {
				b.AddUint8(1)
			} else {
				b.AddUint8(0)
			}
		}
	})
}

// Marshal encodes l.
func (l *List) Marshal() ([]byte, error) {
	if len(l.Entries) > MaxEntries || len(l.Bundles) > MaxEntries {
		return nil, ErrTooLarge
	}
	for _, e := range l.Entries {
		if e.Binding != nil && len(e.Binding) != BindingSize {
			return nil, ErrMalformed
		}
	}
	var b cryptobyte.Builder
	l.addSigned(&b)
	b.AddBytes(l.Signature[:])
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range l.Entries {
			if e.Binding != nil {
				b.AddBytes(e.ID[:])
				b.AddBytes(e.Binding)
			}
		}
	})
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, it := range l.Bundles {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(it) })
		}
	})
	return finish(&b)
}

// Parse decodes a device list without verifying anything (see Verify). It is strict: a
// successful Parse followed by Marshal reproduces the input byte for byte.
func Parse(in []byte) (*List, error) {
	s := cryptobyte.String(in)
	l := &List{}
	var v uint8
	var entries cryptobyte.String
	if !s.ReadUint8(&v) || v != Version || !readFixed(&s, l.Account[:]) || !s.ReadUint64(&l.Clock) ||
		!s.ReadUint16LengthPrefixed(&entries) || len(entries)%entrySize != 0 ||
		len(entries)/entrySize > MaxEntries {
		return nil, ErrMalformed
	}
	for !entries.Empty() {
		var e Entry
		var revoked uint8
		if !readFixed(&entries, e.ID[:]) || !readFixed(&entries, e.DH[:]) ||
			!readFixed(&entries, e.Signing[:]) || !entries.ReadUint8(&revoked) || revoked > 1 {
			return nil, ErrMalformed
		}
		e.Revoked = revoked == 1
		l.Entries = append(l.Entries, e)
	}
	var bindings cryptobyte.String
	if !readFixed(&s, l.Signature[:]) || !s.ReadUint16LengthPrefixed(&bindings) || len(bindings)%bindingSize != 0 {
		return nil, ErrMalformed
	}
	next := 0 // bindings follow entry order: each names an entry after the previous one's
	for !bindings.Empty() {
		var id [16]byte
		sig := make([]byte, BindingSize)
		if !readFixed(&bindings, id[:]) || !readFixed(&bindings, sig) {
			return nil, ErrMalformed
		}
		for next < len(l.Entries) && l.Entries[next].ID != id {
			next++
		}
		if next == len(l.Entries) {
			return nil, ErrMalformed
		}
		l.Entries[next].Binding = sig
		next++
	}
	var bundles cryptobyte.String
	if !readU32Prefixed(&s, &bundles) || !s.Empty() {
		return nil, ErrMalformed
	}
	for !bundles.Empty() {
		var it cryptobyte.String
		if len(l.Bundles) >= MaxEntries || !bundles.ReadUint16LengthPrefixed(&it) {
			return nil, ErrMalformed
		}
		l.Bundles = append(l.Bundles, append(make([]byte, 0, len(it)), it...))
	}
	return l, nil
}

// Lists reports whether l lists the installation with this identity, unrevoked.
func (l *List) Lists(id [16]byte, dh [32]byte, signing [33]byte) bool {
	for _, e := range l.Entries {
		if e.ID == id {
			return !e.Revoked && e.DH == dh && e.Signing == signing
		}
	}
	return false
}

// readFixed reads exactly len(dst) bytes into dst.
func readFixed(s *cryptobyte.String, dst []byte) bool {
	var b []byte
	if !s.ReadBytes(&b, len(dst)) {
		return false
	}
	copy(dst, b)
	return true
}

// readU32Prefixed reads a u32 length prefix and that many bytes (cryptobyte has no reader
// for 32-bit prefixes).
func readU32Prefixed(s *cryptobyte.String, out *cryptobyte.String) bool {
	var n uint32
	var b []byte
	if !s.ReadUint32(&n) || uint64(n) > uint64(len(*s)) || !s.ReadBytes(&b, int(n)) {
		return false
	}
	*out = b
	return true
}

// finish returns the builder's bytes; encoding only fails on a bundle longer than its u16
// prefix.
func finish(b *cryptobyte.Builder) ([]byte, error) {
	out, err := b.Bytes()
	if err != nil {
		return nil, errors.Join(ErrTooLarge, err)
	}
	return out, nil
}
