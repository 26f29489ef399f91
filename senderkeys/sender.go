package senderkeys

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// State encodings start with a kind byte and a version byte.
const (
	senderStateKind   = 'S'
	receiverStateKind = 'R'
	stateVersion      = 1
)

var errUninitialized = errors.New("senderkeys: uninitialized state")

// Sender is the sending side of one sender key (epoch) of one installation in one group.
type Sender struct {
	group     []byte
	keyID     KeyID
	chain     [keySize]byte // chain key of the next iteration
	iteration uint32        // next iteration Seal uses
	signing   *ecdsa.PrivateKey
	public    [33]byte // compressed public key of signing
	hasPrev   bool
	prevKeyID KeyID
	prevLast  uint32
}

// NewSender draws a fresh sender key for group (an opaque reference of 1 to
// MaxGroupSize bytes, the 32-byte group id in practice): 8 random bytes of key id,
// a random 32-byte chain key at iteration 0 and a random secp256k1 signing key.
func NewSender(rand io.Reader, group []byte) (*Sender, error) {
	if !validGroup(group) {
		return nil, fmt.Errorf("%w: group reference of %d bytes", ErrMalformed, len(group))
	}
	return newSender(rand, group, nil)
}

// newSender draws the random parts of a sender; avoid, if non-nil, is a key id not to
// reuse (the previous epoch's), read again at most 64 times in all.
func newSender(rand io.Reader, group []byte, avoid *KeyID) (*Sender, error) {
	s := &Sender{group: append([]byte(nil), group...)}
	for i := 0; ; i++ {
		if _, err := io.ReadFull(rand, s.keyID[:]); err != nil {
			return nil, fmt.Errorf("senderkeys: reading randomness: %w", err)
		}
		if avoid == nil || s.keyID != *avoid {
			break
		}
		if i == 63 {
			return nil, errors.New("senderkeys: random source keeps repeating the previous key id")
		}
	}
	if _, err := io.ReadFull(rand, s.chain[:]); err != nil {
		return nil, fmt.Errorf("senderkeys: reading randomness: %w", err)
	}
	signing, err := newSigningKey(rand)
	if err != nil {
		return nil, fmt.Errorf("senderkeys: reading randomness: %w", err)
	}
	s.signing = signing
	s.public = compressedPublic(signing)
	return s, nil
}

// Seal encrypts and signs plaintext as the message of the current iteration and advances
// the chain. The caller persists the advanced state (MarshalBinary) before publishing, so
// that no iteration is ever sealed twice, even across a crash. On error the state is
// unchanged.
func (s *Sender) Seal(plaintext []byte) ([]byte, error) {
	if s.signing == nil {
		return nil, errUninitialized
	}
	if s.iteration == maxIteration {
		return nil, ErrChainExhausted
	}
	k := newKDF()
	defer k.clear()
	chain := s.chain
	var mk [keySize]byte
	k.step(&chain, &mk)
	defer wipe(mk[:])
	msg, err := sealMessage(k, Header{Version: Version, KeyID: s.keyID, Iteration: s.iteration}, &mk, plaintext, s.signing)
	if err != nil {
		wipe(chain[:])
		return nil, err
	}
	s.chain = chain
	wipe(chain[:])
	s.iteration++
	return msg, nil
}

// SkipTo advances the chain to iteration without sealing anything: the iterations
// skipped are never sealed (receivers see them as missing). A caller that reserves
// iterations ahead (a durable high-water mark) skips to the mark after a restart that may
// have lost state, so that no iteration is sealed twice. It never moves backwards: an
// iteration at or below the current one changes nothing. iteration must not exceed the
// current iteration by more than MaxForwardJump (receivers would refuse the next message).
func (s *Sender) SkipTo(iteration uint32) error {
	if s.signing == nil {
		return errUninitialized
	}
	if iteration <= s.iteration {
		return nil
	}
	if iteration-s.iteration > MaxForwardJump || iteration == maxIteration {
		return fmt.Errorf("%w: skip of %d iterations", ErrTooFarAhead, iteration-s.iteration)
	}
	k := newKDF()
	defer k.clear()
	for ; s.iteration < iteration; s.iteration++ {
		k.step(&s.chain, nil)
	}
	return nil
}

// KeyID returns the key id of this sender key.
func (s *Sender) KeyID() KeyID { return s.keyID }

// Iteration returns the iteration the next Seal will use (the number of messages sealed).
func (s *Sender) Iteration() uint32 { return s.iteration }

// Rotate returns a fresh sender key for the same group (a new epoch) that records this
// key's id and Iteration as its previous key, so receivers can tell how many messages of
// the old epoch they missed. Rotate leaves s unchanged; the caller discards it
// once the new sender is persisted.
func (s *Sender) Rotate(rand io.Reader) (*Sender, error) {
	if s.signing == nil {
		return nil, errUninitialized
	}
	next, err := newSender(rand, s.group, &s.keyID)
	if err != nil {
		return nil, err
	}
	next.hasPrev = true
	next.prevKeyID = s.keyID
	next.prevLast = s.iteration
	return next, nil
}

// String describes the sender without its secrets.
func (s *Sender) String() string {
	if s == nil {
		return "senderkeys.Sender(nil)"
	}
	return fmt.Sprintf("senderkeys.Sender{key:%s iteration:%d chain:REDACTED signing:REDACTED}", s.keyID, s.iteration)
}

// GoString is String: %#v must not print secrets either.
func (s *Sender) GoString() string { return s.String() }

// Format prints String for every verb, also for a dereferenced Sender (a value receiver:
// fmt would otherwise print the fields, secrets included).
func (s Sender) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// MarshalBinary encodes the sender state, secrets included, for persistence
// (spec/README.md, senderkeys: "Sender state").
func (s *Sender) MarshalBinary() ([]byte, error) {
	if s.signing == nil {
		return nil, errUninitialized
	}
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, 2+2+len(s.group)+8+4+keySize+32+1+8+4))
	b.AddUint8(senderStateKind)
	b.AddUint8(stateVersion)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.group) })
	b.AddBytes(s.keyID[:])
	b.AddUint32(s.iteration)
	b.AddBytes(s.chain[:])
	var scalar [32]byte
	s.signing.D.FillBytes(scalar[:])
	b.AddBytes(scalar[:])
	wipe(scalar[:])
	addPrev(b, s.hasPrev, s.prevKeyID, s.prevLast)
	return b.Bytes()
}

// UnmarshalBinary decodes a state written by MarshalBinary. It accepts only the
// canonical encoding; on error s is unchanged.
func (s *Sender) UnmarshalBinary(data []byte) error {
	in := cryptobyte.String(data)
	var kind, version uint8
	if !in.ReadUint8(&kind) || !in.ReadUint8(&version) || kind != senderStateKind {
		return fmt.Errorf("%w: not a sender state", ErrMalformed)
	}
	if version != stateVersion {
		return fmt.Errorf("%w: sender state version %d", ErrUnsupportedVersion, version)
	}
	var (
		n      Sender
		group  cryptobyte.String
		scalar []byte
	)
	if !in.ReadUint16LengthPrefixed(&group) || !validGroup(group) ||
		!in.CopyBytes(n.keyID[:]) || !in.ReadUint32(&n.iteration) || !in.CopyBytes(n.chain[:]) ||
		!in.ReadBytes(&scalar, 32) {
		return fmt.Errorf("%w: sender state", ErrMalformed)
	}
	var err error
	if n.hasPrev, n.prevKeyID, n.prevLast, err = readPrev(&in, n.keyID); err != nil {
		return err
	}
	if !in.Empty() {
		return fmt.Errorf("%w: trailing bytes in sender state", ErrMalformed)
	}
	if n.signing, err = signingKeyFromSeed(scalar); err != nil {
		return fmt.Errorf("%w: sender signing key", ErrMalformed)
	}
	n.group = append([]byte(nil), group...)
	n.public = compressedPublic(n.signing)
	*s = n
	return nil
}

// addPrev appends has_prev (u8) || prev_key_id (8) || prev_last_iteration (u32).
func addPrev(b *cryptobyte.Builder, has bool, id KeyID, last uint32) {
	if has {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
	b.AddBytes(id[:])
	b.AddUint32(last)
}

// readPrev reads what addPrev writes and enforces its canonical form: has_prev is 0 or
// 1, the other fields are zero when it is 0, and a previous key id differs from own.
func readPrev(in *cryptobyte.String, own KeyID) (has bool, id KeyID, last uint32, err error) {
	var flag uint8
	if !in.ReadUint8(&flag) || !in.CopyBytes(id[:]) || !in.ReadUint32(&last) {
		return false, KeyID{}, 0, fmt.Errorf("%w: truncated previous-key fields", ErrMalformed)
	}
	if err := checkPrev(flag == 1, id, last, own); err != nil || flag > 1 {
		return false, KeyID{}, 0, fmt.Errorf("%w: non-canonical previous-key fields", ErrMalformed)
	}
	return flag == 1, id, last, nil
}

// checkPrev enforces the canonical form of the previous-key fields.
func checkPrev(has bool, id KeyID, last uint32, own KeyID) error {
	if has && id == own || !has && (id != KeyID{} || last != 0) {
		return fmt.Errorf("%w: non-canonical previous-key fields", ErrMalformed)
	}
	return nil
}
