// Package wire encodes and decodes the byte formats of the Chorus engine (spec/README.md,
// section "protocol"): inbox frames, pairwise payloads, Welcomes, group frames with their
// rotation blocks, and group message plaintexts. Device lists are package devicelist.
//
// The package is pure: no cryptography, no I/O. Every decoder is strict and canonical —
// it rejects trailing bytes, unknown versions, undefined flag bits and out-of-range
// counts — so that a successful decode followed by an encode reproduces the input byte
// for byte. Decoders never panic on any input and return a nil value with every error.
// All length prefixes follow golang.org/x/crypto/cryptobyte (big-endian).
package wire

import (
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/cryptobyte"
)

// Version is the version byte that starts every Chorus engine structure.
const Version = 1

// Bounds (specification constants).
const (
	// HintSize is the size of a routing hint (inbox frames and rotation slots).
	HintSize = 16
	// MaxHistory is the most causal-history entries a group message may carry.
	MaxHistory = 16
	// HistoryEntrySize is the size of one causal-history entry: installation id (16) ||
	// the first 16 bytes of the message id.
	HistoryEntrySize = 32
	// ShortEntrySize is the size of a causal-history entry of a v2 group message:
	// installation id[0:8] || message id[0:8].
	ShortEntrySize = 16
)

// ErrMalformed is returned by every decoder for input that is not a canonical encoding.
var ErrMalformed = errors.New("wire: malformed input")

// readFixed reads exactly len(dst) bytes into dst.
func readFixed(s *cryptobyte.String, dst []byte) bool {
	var b []byte
	if !s.ReadBytes(&b, len(dst)) {
		return false
	}
	copy(dst, b)
	return true
}

// readBool reads a canonical boolean byte (0 or 1).
func readBool(s *cryptobyte.String, v *bool) bool {
	var b uint8
	if !s.ReadUint8(&b) || b > 1 {
		return false
	}
	*v = b == 1
	return true
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// clone returns a copy of b that never aliases the input buffer (nil stays nil only for
// nil input; empty input gives an empty, non-nil slice).
func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// readVec8/16/32 read a length-prefixed byte string and copy it.
func readVec8(s *cryptobyte.String, out *[]byte) bool {
	var v cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&v) {
		return false
	}
	*out = clone(v)
	return true
}

func readVec16(s *cryptobyte.String, out *[]byte) bool {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) {
		return false
	}
	*out = clone(v)
	return true
}

func readVec32(s *cryptobyte.String, out *[]byte) bool {
	var v cryptobyte.String
	if !readU32Prefixed(s, &v) {
		return false
	}
	*out = clone(v)
	return true
}

// readList16 reads a u32-prefixed list of u16-prefixed byte strings.
func readList16(s *cryptobyte.String, max int, out *[][]byte) bool {
	var list cryptobyte.String
	if !readU32Prefixed(s, &list) {
		return false
	}
	var items [][]byte
	for !list.Empty() {
		if len(items) >= max {
			return false
		}
		var it []byte
		if !readVec16(&list, &it) {
			return false
		}
		items = append(items, it)
	}
	*out = items
	return true
}

func addList16(b *cryptobyte.Builder, items [][]byte) {
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, it := range items {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(it) })
		}
	})
}

func addVec8(b *cryptobyte.Builder, v []byte) {
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

func addVec16(b *cryptobyte.Builder, v []byte) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

func addVec32(b *cryptobyte.Builder, v []byte) {
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

// appendVec32 appends u32<v> to out (the caller checks that len(v) fits).
func appendVec32(out, v []byte) []byte {
	return append(binary.BigEndian.AppendUint32(out, uint32(len(v))), v...)
}

// finish returns the builder's bytes; encoders only fail on lengths that exceed a prefix,
// which the callers' bounds exclude, so a failure here is a programming error.
func finish(b *cryptobyte.Builder) ([]byte, error) {
	out, err := b.Bytes()
	if err != nil {
		return nil, errors.Join(ErrTooLarge, err)
	}
	return out, nil
}

// ErrTooLarge is returned by an encoder when a field exceeds its length prefix.
var ErrTooLarge = errors.New("wire: field too large for its length prefix")

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
