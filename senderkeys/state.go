package senderkeys

import (
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"
)

// epochFixedSize is the encoded size of an epoch without its skipped keys.
const epochFixedSize = 8 + 65 + 13 + SignatureSize + 4 + keySize + 2

// skippedKeySize is the encoded size of one skipped key: iteration || message key.
const skippedKeySize = 4 + keySize

// MarshalBinary encodes the receiver state, secrets included, for persistence
// (spec/README.md, senderkeys: "Receiver state"). The engine stores it after every
// successful Process or Open, together with the plaintext, in one transaction.
func (r *Receiver) MarshalBinary() ([]byte, error) {
	if !validGroup(r.group) {
		return nil, fmt.Errorf("%w: receiver group reference of %d bytes", ErrMalformed, len(r.group))
	}
	size := 2 + 2 + len(r.group) + 16 + 33 + 1 + 1 + 8*len(r.retired)
	for _, e := range r.epochs {
		size += epochFixedSize + skippedKeySize*len(e.skipped)
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, size))
	b.AddUint8(receiverStateKind)
	b.AddUint8(stateVersion)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.group) })
	b.AddBytes(r.installation[:])
	b.AddBytes(r.owner[:])
	b.AddUint8(uint8(len(r.epochs)))
	for _, e := range r.epochs {
		b.AddBytes(e.keyID[:])
		b.AddBytes(e.pub) // uncompressed: loading needs no decompression
		addPrev(b, e.hasPrev, e.prevKeyID, e.prevLast)
		b.AddBytes(e.signature[:])
		b.AddUint32(e.next)
		b.AddBytes(e.chain[:])
		b.AddUint16(uint16(len(e.skipped)))
		for _, s := range e.skipped {
			b.AddUint32(s.iteration)
			b.AddBytes(s.key[:])
		}
	}
	b.AddUint8(uint8(len(r.retired)))
	for _, id := range r.retired {
		b.AddBytes(id[:])
	}
	return b.Bytes()
}

// UnmarshalBinary decodes a state written by MarshalBinary. It accepts only the
// canonical encoding of a state the package can reach; on error r is unchanged.
// Distribution signatures are not re-verified (the state is the caller's own storage).
func (r *Receiver) UnmarshalBinary(data []byte) error {
	in := cryptobyte.String(data)
	var kind, version uint8
	if !in.ReadUint8(&kind) || !in.ReadUint8(&version) || kind != receiverStateKind {
		return fmt.Errorf("%w: not a receiver state", ErrMalformed)
	}
	if version != stateVersion {
		return fmt.Errorf("%w: receiver state version %d", ErrUnsupportedVersion, version)
	}
	var (
		n       Receiver
		group   cryptobyte.String
		nEpochs uint8
	)
	if !in.ReadUint16LengthPrefixed(&group) || !validGroup(group) || !in.CopyBytes(n.installation[:]) ||
		!in.CopyBytes(n.owner[:]) || !in.ReadUint8(&nEpochs) || nEpochs > MaxEpochs {
		return fmt.Errorf("%w: receiver state header", ErrMalformed)
	}
	n.group = append([]byte(nil), group...)
	ids := make([]KeyID, 0, int(nEpochs)+MaxRetiredKeyIDs)
	for range nEpochs {
		e, err := readEpoch(&in)
		if err != nil {
			return err
		}
		if slices.Contains(ids, e.keyID) {
			return fmt.Errorf("%w: duplicate key id in receiver state", ErrMalformed)
		}
		ids = append(ids, e.keyID)
		n.epochs = append(n.epochs, e)
	}
	var nRetired uint8
	if !in.ReadUint8(&nRetired) || nRetired > MaxRetiredKeyIDs {
		return fmt.Errorf("%w: receiver state retired keys", ErrMalformed)
	}
	for range nRetired {
		var id KeyID
		if !in.CopyBytes(id[:]) || slices.Contains(ids, id) {
			return fmt.Errorf("%w: receiver state retired keys", ErrMalformed)
		}
		ids = append(ids, id)
		n.retired = append(n.retired, id)
	}
	if !in.Empty() {
		return fmt.Errorf("%w: trailing bytes in receiver state", ErrMalformed)
	}
	*r = n
	return nil
}

func readEpoch(in *cryptobyte.String) (*epoch, error) {
	e := new(epoch)
	var pub []byte
	if !in.CopyBytes(e.keyID[:]) || !in.ReadBytes(&pub, 65) {
		return nil, fmt.Errorf("%w: truncated epoch", ErrMalformed)
	}
	var err error
	if e.hasPrev, e.prevKeyID, e.prevLast, err = readPrev(in, e.keyID); err != nil {
		return nil, err
	}
	var nSkipped uint16
	if !in.CopyBytes(e.signature[:]) || !in.ReadUint32(&e.next) || !in.CopyBytes(e.chain[:]) ||
		!in.ReadUint16(&nSkipped) || nSkipped > MaxSkippedKeys || len(*in) < int(nSkipped)*skippedKeySize {
		return nil, fmt.Errorf("%w: truncated epoch", ErrMalformed)
	}
	if _, err := crypto.UnmarshalPubkey(pub); err != nil {
		return nil, fmt.Errorf("%w: epoch signing key", ErrMalformed)
	}
	e.pub = append([]byte(nil), pub...)
	e.signing = compressPoint(e.pub)
	if nSkipped > 0 {
		e.skipped = make([]skippedKey, nSkipped)
	}
	for i := range e.skipped {
		s := &e.skipped[i]
		in.ReadUint32(&s.iteration)
		in.CopyBytes(s.key[:])
		if s.iteration >= e.next || i > 0 && s.iteration <= e.skipped[i-1].iteration {
			return nil, fmt.Errorf("%w: epoch skipped keys out of order", ErrMalformed)
		}
	}
	return e, nil
}
