package x3dh

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Header is the X3DH part of an initiator's first message: who initiates, its
// ephemeral key and which of the responder's prekeys were used. Its encoding
// is canonical: ParseHeader followed by MarshalBinary returns the input bytes.
type Header struct {
	Version          uint8
	Initiator        PublicIdentity
	Ephemeral        [32]byte
	SignedPrekeyID   uint32
	HasOneTimePrekey bool
	OneTimePrekeyID  uint32 // meaningful only if HasOneTimePrekey
}

// Encoded header sizes.
const (
	headerSizeNoOTK   = 1 + publicIdentitySize + 32 + 4 + 1
	headerSizeWithOTK = headerSizeNoOTK + 4
)

// MarshalBinary encodes the header (spec: "Header encoding"):
// version || initiator identity (81) || ephemeral (32) || spk id (u32) ||
// flag (0x00 or 0x01) [|| one-time prekey id (u32) if flag is 0x01].
// OneTimePrekeyID is not encoded when HasOneTimePrekey is false.
func (h *Header) MarshalBinary() ([]byte, error) {
	if h.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, h.Version)
	}
	out := make([]byte, 0, headerSizeWithOTK)
	out = append(out, h.Version)
	out = appendPublicIdentity(out, &h.Initiator)
	out = append(out, h.Ephemeral[:]...)
	c := cryptobyte.NewFixedBuilder(out)
	c.AddUint32(h.SignedPrekeyID)
	if h.HasOneTimePrekey {
		c.AddUint8(1)
		c.AddUint32(h.OneTimePrekeyID)
	} else {
		c.AddUint8(0)
	}
	return c.Bytes()
}

// ParseHeader decodes a header. It checks structure only; Respond validates
// the keys.
func ParseHeader(data []byte) (*Header, error) {
	s := cryptobyte.String(data)
	var h Header
	if !s.ReadUint8(&h.Version) {
		return nil, ErrMalformed
	}
	if h.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, h.Version)
	}
	var flag uint8
	if !readPublicIdentity(&s, &h.Initiator) || !s.CopyBytes(h.Ephemeral[:]) ||
		!s.ReadUint32(&h.SignedPrekeyID) || !s.ReadUint8(&flag) {
		return nil, ErrMalformed
	}
	switch flag {
	case 0:
	case 1:
		h.HasOneTimePrekey = true
		if !s.ReadUint32(&h.OneTimePrekeyID) {
			return nil, ErrMalformed
		}
	default:
		return nil, ErrMalformed
	}
	if !s.Empty() {
		return nil, ErrMalformed
	}
	return &h, nil
}

// MarshalCompact encodes the header without its initiator identity (spec: "Header
// encoding", compact form): version || ephemeral (32) || spk id (u32) || flag [|| one-time
// prekey id (u32)], 38 or 42 bytes. It is for a receiver that knows the initiator from
// elsewhere (the author of a signed key block); ParseCompactHeader restores it.
func (h *Header) MarshalCompact() ([]byte, error) {
	full, err := h.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(full[:1:1], full[1+publicIdentitySize:]...), nil
}

// ParseCompactHeader decodes a compact header (see MarshalCompact) with initiator as its
// initiator. It checks structure only, exactly as ParseHeader does for the full encoding;
// Respond validates the keys.
func ParseCompactHeader(data []byte, initiator *PublicIdentity) (*Header, error) {
	if len(data) == 0 {
		return nil, ErrMalformed
	}
	full := make([]byte, 0, len(data)+publicIdentitySize)
	full = append(full, data[0])
	full = appendPublicIdentity(full, initiator)
	return ParseHeader(append(full, data[1:]...))
}
