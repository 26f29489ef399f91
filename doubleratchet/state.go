package doubleratchet

import (
	"fmt"
	"log/slog"

	"golang.org/x/crypto/cryptobyte"
)

// State encoding flags.
const (
	flagRemoteKey  uint8 = 1 << 0
	flagSendChain  uint8 = 1 << 1
	flagRecvChain  uint8 = 1 << 2
	flagsKnown           = flagRemoteKey | flagSendChain | flagRecvChain
	skippedEntrySz       = 32 + 4 + 32
)

// MarshalBinary encodes the session, secrets included, for persistence
// (spec: "Session state encoding"). The encoding is canonical: UnmarshalBinary
// followed by MarshalBinary returns the same bytes.
func (s *Session) MarshalBinary() ([]byte, error) {
	var flags uint8
	if s.hasDHr {
		flags |= flagRemoteKey
	}
	if s.hasCKs {
		flags |= flagSendChain
	}
	if s.hasCKr {
		flags |= flagRecvChain
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 2+6*32+12+1+32*len(s.prev)+2+skippedEntrySz*s.skipped.len()))
	b.AddUint8(Version)
	b.AddUint8(flags)
	b.AddBytes(s.rk[:])
	b.AddBytes(s.dhsPriv[:])
	b.AddBytes(s.dhsPub[:])
	if s.hasDHr {
		b.AddBytes(s.dhr[:])
	}
	if s.hasCKs {
		b.AddBytes(s.cks[:])
	}
	if s.hasCKr {
		b.AddBytes(s.ckr[:])
	}
	b.AddUint32(s.ns)
	b.AddUint32(s.nr)
	b.AddUint32(s.pn)
	b.AddUint8(uint8(len(s.prev)))
	for i := range s.prev {
		b.AddBytes(s.prev[i][:])
	}
	b.AddUint16(uint16(s.skipped.len()))
	s.skipped.each(func(id skippedID, mk *[32]byte) {
		b.AddBytes(id.dh[:])
		b.AddUint32(id.n)
		b.AddBytes(mk[:])
	})
	return b.Bytes()
}

// UnmarshalBinary decodes an encoding produced by MarshalBinary. On error the
// receiver is unchanged.
func (s *Session) UnmarshalBinary(data []byte) error {
	in := cryptobyte.String(data)
	var (
		n            Session
		version      uint8
		flags, nPrev uint8
		nSkipped     uint16
	)
	if !in.ReadUint8(&version) {
		return ErrMalformed
	}
	if version != Version {
		return fmt.Errorf("%w: state version %d", ErrVersion, version)
	}
	if !in.ReadUint8(&flags) || flags&^flagsKnown != 0 ||
		(flags&flagRecvChain != 0 && flags&flagRemoteKey == 0) {
		return fmt.Errorf("%w: state flags", ErrMalformed)
	}
	n.hasDHr = flags&flagRemoteKey != 0
	n.hasCKs = flags&flagSendChain != 0
	n.hasCKr = flags&flagRecvChain != 0
	if !in.CopyBytes(n.rk[:]) || !in.CopyBytes(n.dhsPriv[:]) || !in.CopyBytes(n.dhsPub[:]) ||
		(n.hasDHr && !in.CopyBytes(n.dhr[:])) ||
		(n.hasCKs && !in.CopyBytes(n.cks[:])) ||
		(n.hasCKr && !in.CopyBytes(n.ckr[:])) ||
		!in.ReadUint32(&n.ns) || !in.ReadUint32(&n.nr) || !in.ReadUint32(&n.pn) ||
		!in.ReadUint8(&nPrev) || nPrev > MaxPreviousChains {
		return ErrMalformed
	}
	if nPrev > 0 {
		n.prev = make([][32]byte, nPrev)
		for i := range n.prev {
			if !in.CopyBytes(n.prev[i][:]) {
				return ErrMalformed
			}
		}
	}
	if !in.ReadUint16(&nSkipped) || nSkipped > MaxSkipTotal || len(in) != int(nSkipped)*skippedEntrySz {
		return ErrMalformed
	}
	if nSkipped > 0 {
		entries := make([]skippedEntry, nSkipped)
		seen := make(map[skippedID]struct{}, nSkipped)
		for i := range entries {
			e := &entries[i]
			in.CopyBytes(e.id.dh[:])
			in.ReadUint32(&e.id.n)
			in.CopyBytes(e.mk[:])
			if _, dup := seen[e.id]; dup {
				return fmt.Errorf("%w: duplicate skipped key", ErrMalformed)
			}
			seen[e.id] = struct{}{}
		}
		n.skipped.add(entries)
	}
	*s = n
	return nil
}

// GoString describes the session without any key material. The redacting methods have
// value receivers so that a dereferenced Session prints redacted too.
func (s Session) GoString() string { return s.String() }

// LogValue describes the session for log/slog without any key material.
func (s Session) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String describes the session without any key material.
func (s Session) String() string {
	return fmt.Sprintf("doubleratchet.Session{Ns: %d, Nr: %d, PN: %d, skipped: %d, keys: REDACTED}",
		s.ns, s.nr, s.pn, s.skipped.len())
}
