package doubleratchet

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"
	"math"
)

// Session is one side of a Double Ratchet session.
type Session struct {
	// Our current ratchet key pair. dhs caches the parsed private key; it is
	// nil after UnmarshalBinary until the next DH ratchet turn needs it, so
	// that loading a session costs no scalar multiplication.
	dhs     *ecdh.PrivateKey
	dhsPriv [32]byte
	dhsPub  [32]byte
	dhr     [32]byte // remote ratchet public key, if hasDHr
	rk      [32]byte // root key
	cks     [32]byte // sending chain key, if hasCKs
	ckr     [32]byte // receiving chain key, if hasCKr
	ns      uint32   // next message number in the sending chain
	nr      uint32   // next message number in the receiving chain
	pn      uint32   // length of our previous sending chain

	hasDHr, hasCKs, hasCKr bool

	prev    [][32]byte // previous remote ratchet keys, oldest first
	skipped skippedKeys
}

// NewInitiator starts the session of the X3DH initiator. remoteRatchet is the
// responder's signed prekey public key; the initiator's first ratchet key is
// drawn from 32 bytes of rand. The initiator can encrypt at once.
func NewInitiator(rand io.Reader, sharedSecret [32]byte, remoteRatchet [32]byte) (*Session, error) {
	if !canonicalX25519(&remoteRatchet) {
		return nil, fmt.Errorf("%w: non-canonical remote ratchet key", ErrInvalidKey)
	}
	remote, err := ecdh.X25519().NewPublicKey(remoteRatchet[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	dhs, err := generateKey(rand)
	if err != nil {
		return nil, err
	}
	out, err := dhs.ECDH(remote)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	s := &Session{dhr: remoteRatchet, hasDHr: true, hasCKs: true}
	s.setRatchetKey(dhs)
	s.rk, s.cks = kdfRoot(&sharedSecret, out)
	clear(out)
	return s, nil
}

// NewResponder starts the session of the X3DH responder. ourRatchet is the
// signed prekey private key used in X3DH. The responder cannot encrypt before
// it has decrypted a message (ErrNoSendingChain).
func NewResponder(sharedSecret [32]byte, ourRatchet *ecdh.PrivateKey) (*Session, error) {
	if ourRatchet == nil || ourRatchet.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("%w: responder ratchet key must be an X25519 private key", ErrInvalidKey)
	}
	s := &Session{rk: sharedSecret}
	s.setRatchetKey(ourRatchet)
	return s, nil
}

func (s *Session) setRatchetKey(k *ecdh.PrivateKey) {
	s.dhs = k
	copy(s.dhsPriv[:], k.Bytes())
	copy(s.dhsPub[:], k.PublicKey().Bytes())
}

// ratchetKey returns our ratchet private key, parsing it on first use after
// UnmarshalBinary (a cache: the session's encoding does not change).
func (s *Session) ratchetKey() (*ecdh.PrivateKey, error) {
	if s.dhs != nil {
		return s.dhs, nil
	}
	k, err := ecdh.X25519().NewPrivateKey(s.dhsPriv[:])
	if err != nil {
		return nil, fmt.Errorf("%w: ratchet key: %v", ErrMalformed, err)
	}
	if [32]byte(k.PublicKey().Bytes()) != s.dhsPub {
		return nil, fmt.Errorf("%w: ratchet key pair mismatch", ErrMalformed)
	}
	s.dhs = k
	return k, nil
}

// generateKey reads 32 bytes from rand as an X25519 private key.
func generateKey(rand io.Reader) (*ecdh.PrivateKey, error) {
	if rand == nil {
		return nil, errors.New("doubleratchet: nil random source")
	}
	var b [32]byte
	defer clear(b[:])
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return nil, fmt.Errorf("doubleratchet: reading randomness: %w", err)
	}
	return ecdh.X25519().NewPrivateKey(b[:])
}

// Encrypt seals plaintext as the next message of the sending chain, binding
// ad (the X3DH associated data, possibly extended by the caller) and the
// header. It advances the sending chain; persist the session before sending.
func (s *Session) Encrypt(plaintext, ad []byte) ([]byte, error) {
	if !s.hasCKs {
		return nil, ErrNoSendingChain
	}
	if s.ns == math.MaxUint32 {
		return nil, ErrChainExhausted
	}
	mk, next := kdfChain(&s.cks)
	h := header{dh: s.dhsPub, pn: s.pn, n: s.ns}
	msg := seal(&mk, &h, plaintext, ad)
	clear(mk[:])
	s.cks = next
	s.ns++
	return msg, nil
}

// SendingChain returns our current ratchet public key, which identifies the sending
// chain, and the number of its next message; ok is false while there is no sending chain.
func (s *Session) SendingChain() (ratchet [32]byte, next uint32, ok bool) {
	return s.dhsPub, s.ns, s.hasCKs
}

// SkipSending advances the sending chain to message number n without sealing: the
// numbers skipped are never used (the peer stores their keys as skipped, at most MaxSkip
// of them). A caller that reserves message numbers ahead (a durable high-water mark) skips
// to the mark after a restart that may have lost state, so that no message key is used
// twice. A number at or below the next one changes nothing; more than MaxSkip ahead is
// refused with ErrTooFarAhead.
func (s *Session) SkipSending(n uint32) error {
	if !s.hasCKs {
		return ErrNoSendingChain
	}
	if n <= s.ns {
		return nil
	}
	if n-s.ns > MaxSkip || n == math.MaxUint32 {
		return fmt.Errorf("%w: skip of %d message keys", ErrTooFarAhead, n-s.ns)
	}
	for ; s.ns < n; s.ns++ {
		mk, next := kdfChain(&s.cks)
		clear(mk[:])
		s.cks = next
	}
	return nil
}

// Decrypt authenticates and decrypts a message with associated data ad. rand
// supplies 32 bytes for our next ratchet key when the message starts a new
// remote chain (a DH ratchet turn); it is read only after the message has
// authenticated. On any error the session is unchanged.
func (s *Session) Decrypt(rand io.Reader, message, ad []byte) ([]byte, error) {
	h, ct, err := parseMessage(message)
	if err != nil {
		return nil, err
	}
	if h.n == math.MaxUint32 {
		return nil, ErrTooFarAhead // no sender uses the last number (ErrChainExhausted)
	}
	hdr := message[:HeaderSize]
	id := skippedID{dh: h.dh, n: h.n}
	if mk, ok := s.skipped.get(id); ok {
		pt, err := open(&mk, hdr, ct, ad)
		if err != nil {
			return nil, err
		}
		s.skipped.remove(id)
		return pt, nil
	}
	if s.hasDHr && h.dh == s.dhr {
		return s.decryptCurrentChain(&h, hdr, ct, ad)
	}
	for i := range s.prev {
		if s.prev[i] == h.dh {
			return nil, ErrReplay
		}
	}
	return s.decryptNewChain(rand, &h, hdr, ct, ad)
}

// decryptCurrentChain handles a message of the current receiving chain.
func (s *Session) decryptCurrentChain(h *header, hdr, ct, ad []byte) ([]byte, error) {
	if !s.hasCKr {
		// Only the initiator's first remote key (the responder's signed
		// prekey) has no receiving chain; nobody sends under it.
		return nil, ErrDecrypt
	}
	if h.n < s.nr {
		return nil, ErrReplay
	}
	if h.n-s.nr > MaxSkip {
		return nil, fmt.Errorf("%w: %d keys to skip", ErrTooFarAhead, h.n-s.nr)
	}
	ck := s.ckr
	pending := skipChain(nil, &ck, h.dh, s.nr, h.n)
	mk, next := kdfChain(&ck)
	pt, err := open(&mk, hdr, ct, ad)
	clear(mk[:])
	if err != nil {
		return nil, err
	}
	s.ckr = next
	s.nr = h.n + 1
	s.skipped.add(pending)
	return pt, nil
}

// decryptNewChain handles a message under a new remote ratchet key: the
// receiving half of the DH ratchet runs on tentative values, the message is
// authenticated, and only then the sending half runs and everything commits.
func (s *Session) decryptNewChain(rand io.Reader, h *header, hdr, ct, ad []byte) ([]byte, error) {
	if s.hasCKr && h.pn > s.nr && h.pn-s.nr > MaxSkip {
		return nil, fmt.Errorf("%w: %d keys to skip in the previous chain", ErrTooFarAhead, h.pn-s.nr)
	}
	if h.n > MaxSkip {
		return nil, fmt.Errorf("%w: %d keys to skip in the new chain", ErrTooFarAhead, h.n)
	}
	ours, err := s.ratchetKey()
	if err != nil {
		return nil, err
	}
	remote, err := ecdh.X25519().NewPublicKey(h.dh[:])
	if err != nil {
		return nil, ErrDecrypt
	}
	dh1, err := ours.ECDH(remote)
	if err != nil {
		return nil, ErrDecrypt // small-order ratchet key
	}
	var pending []skippedEntry
	if s.hasCKr && h.pn > s.nr {
		ck := s.ckr
		pending = skipChain(pending, &ck, s.dhr, s.nr, h.pn)
	}
	rk1, ckr := kdfRoot(&s.rk, dh1)
	clear(dh1)
	pending = skipChain(pending, &ckr, h.dh, 0, h.n)
	mk, nextRecv := kdfChain(&ckr)
	pt, err := open(&mk, hdr, ct, ad)
	clear(mk[:])
	if err != nil {
		return nil, err
	}

	dhs, err := generateKey(rand)
	if err != nil {
		return nil, err
	}
	dh2, err := dhs.ECDH(remote)
	if err != nil {
		return nil, ErrDecrypt // unreachable: remote passed the first ECDH
	}
	rk2, cks := kdfRoot(&rk1, dh2)
	clear(dh2)

	if s.hasDHr {
		if len(s.prev) == MaxPreviousChains {
			s.prev = append(s.prev[:0], s.prev[1:]...)
		}
		s.prev = append(s.prev, s.dhr)
	}
	s.pn, s.ns, s.nr = s.ns, 0, h.n+1
	s.dhr, s.hasDHr = h.dh, true
	s.rk = rk2
	s.ckr, s.hasCKr = nextRecv, true
	s.cks, s.hasCKs = cks, true
	s.setRatchetKey(dhs)
	s.skipped.add(pending)
	return pt, nil
}

// skipChain advances ck from message number from to to (exclusive),
// appending the message keys it passes to pending.
func skipChain(pending []skippedEntry, ck *[32]byte, dh [32]byte, from, to uint32) []skippedEntry {
	if to <= from {
		return pending
	}
	if pending == nil {
		pending = make([]skippedEntry, 0, to-from)
	}
	for n := from; n < to; n++ {
		mk, next := kdfChain(ck)
		pending = append(pending, skippedEntry{id: skippedID{dh: dh, n: n}, mk: mk})
		*ck = next
	}
	return pending
}

// Clone returns an independent deep copy of the session.
func (s *Session) Clone() *Session {
	c := *s
	c.prev = append([][32]byte(nil), s.prev...)
	c.skipped = s.skipped.clone()
	return &c
}
