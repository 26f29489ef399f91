package epoch

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"
)

// MessageHeader is the clear header of a v2 group message (inside the outer layer).
type MessageHeader struct {
	Installation Installation
	Iteration    uint32
}

// ParseMessageHeader reads the header of a message without cryptography (to route it to
// the sender's chain): at least MessageOverhead bytes (ErrMalformed), version 2
// (ErrUnsupportedVersion), iteration below 2^32 − 1 (ErrMalformed).
func ParseMessageHeader(msg []byte) (MessageHeader, error) {
	if len(msg) < MessageOverhead {
		return MessageHeader{}, fmt.Errorf("%w: message of %d bytes", ErrMalformed, len(msg))
	}
	if msg[0] != Version {
		return MessageHeader{}, fmt.Errorf("%w: message version %d", ErrUnsupportedVersion, msg[0])
	}
	h := MessageHeader{Installation: Installation(msg[1 : 1+InstallationSize]),
		Iteration: binary.BigEndian.Uint32(msg[1+InstallationSize:])}
	if h.Iteration == maxIteration {
		return MessageHeader{}, fmt.Errorf("%w: reserved iteration", ErrMalformed)
	}
	return h, nil
}

// messageDigest is SHA-256(u8<label> || EID || u8<header> || u32<ciphertext>).
func messageDigest(eid *ID, header, ct []byte) [32]byte {
	h := sha256.New()
	var label [1 + len(labelMessageSignature)]byte // on the stack: appendLabel(nil, …) allocated
	h.Write(appendLabel(label[:0], labelMessageSignature))
	h.Write(eid[:])
	h.Write([]byte{byte(len(header))})
	h.Write(header)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(ct)))
	h.Write(l[:])
	h.Write(ct)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// MessageSignature returns the digest a message of epoch eid is signed over and its
// signature (what Open checks), without checking anything but the header's form.
func MessageSignature(eid ID, msg []byte) (digest [32]byte, sig []byte, err error) {
	if _, err := ParseMessageHeader(msg); err != nil {
		return digest, nil, err
	}
	body := msg[:len(msg)-SignatureSize]
	return messageDigest(&eid, body[:HeaderSize], body[HeaderSize:]), msg[len(msg)-SignatureSize:], nil
}

// aeadAD returns header || eid, the associated data of a message's AEAD (one allocation).
func aeadAD(header []byte, eid *ID) []byte {
	return append(append(make([]byte, 0, len(header)+IDSize), header...), eid[:]...)
}

// SenderChain is an installation's sending chain in one epoch.
type SenderChain struct {
	Epoch        ID
	Installation Installation
	chain        [IDSize]byte
	next         uint32
}

// NewSenderChain starts inst's sending chain of epoch e at iteration 0.
func NewSenderChain(e *Epoch, inst Installation) *SenderChain {
	return &SenderChain{Epoch: e.ID, Installation: inst, chain: e.SenderChain(inst)}
}

// Iteration returns the iteration the next Seal uses.
func (s *SenderChain) Iteration() uint32 { return s.next }

// SkipTo advances the chain to iteration it without sealing (a restart after a possible
// power loss resumes above the durable lease: iterations below it may have been sealed
// and published already). It never moves backwards; it for the reserved iteration is
// ErrChainExhausted.
func (s *SenderChain) SkipTo(it uint32) error {
	if it == maxIteration {
		return ErrChainExhausted
	}
	for s.next < it {
		_, next := ChainStep(&s.chain)
		s.chain = next
		s.next++
	}
	return nil
}

// Seal seals plaintext as the next iteration, signed by signing (the installation's
// signing key from its signed device list entry), and advances the chain. Persist the
// chain before publishing.
func (s *SenderChain) Seal(signing *ecdsa.PrivateKey, plaintext []byte) ([]byte, error) {
	if s.next == maxIteration {
		return nil, ErrChainExhausted
	}
	mk, next := ChainStep(&s.chain)
	defer clear(mk[:])
	key, nonce := MessageKeys(&mk)
	defer clear(key[:])
	header := make([]byte, HeaderSize, HeaderSize+len(plaintext)+16+SignatureSize)
	header[0] = Version
	copy(header[1:], s.Installation[:])
	binary.BigEndian.PutUint32(header[1+InstallationSize:], s.next)
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return nil, err
	}
	msg := aead.Seal(header, nonce[:], plaintext, aeadAD(header[:HeaderSize], &s.Epoch))
	d := messageDigest(&s.Epoch, msg[:HeaderSize], msg[HeaderSize:])
	sig, err := crypto.Sign(d[:], signing)
	if err != nil {
		return nil, fmt.Errorf("epoch: signing: %w", err)
	}
	msg = append(msg, sig[:SignatureSize]...)
	s.chain = next
	s.next++
	return msg, nil
}

// ReceiverChain is what a receiver holds of one sender installation's chain in one epoch:
// the chain key at the next iteration not yet reached and the message keys of skipped
// iterations.
type ReceiverChain struct {
	Epoch        ID
	Installation Installation
	chain        [IDSize]byte
	next         uint32
	skipped      map[uint32][IDSize]byte
}

// NewReceiverChain derives sender inst's chain of epoch e from iteration 0 (a receiver
// derives it when the sender first speaks in the epoch).
func NewReceiverChain(e *Epoch, inst Installation) *ReceiverChain {
	return &ReceiverChain{Epoch: e.ID, Installation: inst, chain: e.SenderChain(inst), skipped: map[uint32][IDSize]byte{}}
}

// Open authenticates and decrypts msg, in this order before any state changes: header
// (ParseMessageHeader; the installation must be this chain's, ErrMismatch), signature under
// signingKey (65-byte uncompressed secp256k1, ErrBadSignature), iteration (ErrReplay,
// ErrTooFarAhead), AEAD (ErrDecrypt). On error the chain is unchanged.
func (r *ReceiverChain) Open(signingKey []byte, msg []byte) ([]byte, error) {
	return r.OpenWith(crypto.VerifySignature, signingKey, msg)
}

// Verifier checks a 64-byte secp256k1 signature over a 32-byte digest under a 65-byte
// uncompressed public key (crypto.VerifySignature's contract).
type Verifier func(pub, digest, sig []byte) bool

// OpenWith is Open with the signature checked by verify (a verifier that remembers
// signatures checked ahead of time, e.g. on other cores: it must answer exactly as
// crypto.VerifySignature does).
func (r *ReceiverChain) OpenWith(verify Verifier, signingKey []byte, msg []byte) ([]byte, error) {
	pt, _, err := r.OpenTracked(verify, signingKey, msg)
	return pt, err
}

// SkippedKey is the message key of a skipped iteration.
type SkippedKey struct {
	Iteration uint32
	Key       [IDSize]byte
}

// Change is what an Open changed of the chain's skipped keys, for a store that keeps
// them apart from the chain (MarshalHead): Added the keys of the iterations it skipped
// (ascending, those kept), Used set if it opened a skipped iteration (Iteration; its key
// is gone). Eviction beyond MaxSkippedKeys among keys not loaded is the store's (oldest
// first).
type Change struct {
	Added     []SkippedKey
	Used      bool
	Iteration uint32
}

// MarshalHead encodes the chain without its skipped keys (k = 0): what a store that
// keeps them apart stores as the chain.
func (r *ReceiverChain) MarshalHead() ([]byte, error) {
	b := make([]byte, 0, 2+IDSize+InstallationSize+4+IDSize+2)
	b = append(b, chainMagic, chainVersion)
	b = append(b, r.Epoch[:]...)
	b = append(b, r.Installation[:]...)
	b = binary.BigEndian.AppendUint32(b, r.next)
	b = append(b, r.chain[:]...)
	return binary.BigEndian.AppendUint16(b, 0), nil
}

// LoadSkipped adds a skipped key kept apart (a store's, for the iteration of a message
// about to be opened): its iteration must be below Next (ErrMalformed).
func (r *ReceiverChain) LoadSkipped(k SkippedKey) error {
	if k.Iteration >= r.next {
		return fmt.Errorf("%w: skipped iteration %d not below %d", ErrMalformed, k.Iteration, r.next)
	}
	r.skipped[k.Iteration] = k.Key
	return nil
}

// OpenTracked is OpenWith, also reporting what changed of the skipped keys (on error
// nothing did).
func (r *ReceiverChain) OpenTracked(verify Verifier, signingKey []byte, msg []byte) ([]byte, Change, error) {
	var ch Change
	h, err := ParseMessageHeader(msg)
	if err != nil {
		return nil, ch, err
	}
	if h.Installation != r.Installation {
		return nil, ch, fmt.Errorf("%w: message of another installation", ErrMismatch)
	}
	body := msg[:len(msg)-SignatureSize]
	// One buffer for what leaves this frame (the digest handed to verify; the nonce and
	// the associated data handed to the cipher), not one allocation each.
	buf := make([]byte, 0, sha256.Size+chacha20poly1305.NonceSize+HeaderSize+IDSize)
	d := messageDigest(&r.Epoch, body[:HeaderSize], body[HeaderSize:])
	buf = append(buf, d[:]...)
	if !verify(signingKey, buf[:sha256.Size], msg[len(msg)-SignatureSize:]) {
		return nil, ch, ErrBadSignature
	}
	i := h.Iteration
	var mk [IDSize]byte
	chain, next := r.chain, r.next
	type skippedKey struct {
		it uint32
		mk [IDSize]byte
	}
	var newSkipped []skippedKey
	switch {
	case i < r.next:
		k, ok := r.skipped[i]
		if !ok {
			return nil, ch, fmt.Errorf("%w: iteration %d", ErrReplay, i)
		}
		mk = k
	default:
		if i-r.next > MaxForwardJump {
			return nil, ch, fmt.Errorf("%w: %d ahead", ErrTooFarAhead, i-r.next)
		}
		keep := min(i-r.next, MaxSkippedKeys)
		for j := r.next; j < i; j++ {
			m, n := ChainStep(&chain)
			if i-j <= keep {
				newSkipped = append(newSkipped, skippedKey{j, m})
			}
			chain = n
		}
		m, n := ChainStep(&chain)
		mk, chain, next = m, n, i+1
	}
	key, nonce := MessageKeys(&mk)
	aead, err := chacha20poly1305.New(key[:])
	clear(key[:])
	if err != nil {
		return nil, ch, err
	}
	buf = append(buf, nonce[:]...)
	buf = append(append(buf, body[:HeaderSize]...), r.Epoch[:]...) // as aeadAD
	nonceAt := sha256.Size
	adAt := nonceAt + chacha20poly1305.NonceSize
	pt, err := aead.Open(nil, buf[nonceAt:adAt], body[HeaderSize:], buf[adAt:])
	if err != nil {
		return nil, ch, ErrDecrypt
	}
	// Commit.
	if i < r.next {
		delete(r.skipped, i)
		ch.Used, ch.Iteration = true, i
	} else {
		for _, s := range newSkipped {
			r.skipped[s.it] = s.mk
		}
		r.chain, r.next = chain, next
		if over := len(r.skipped) - MaxSkippedKeys; over > 0 {
			keys := slices.Sorted(maps.Keys(r.skipped))
			for _, k := range keys[:over] {
				delete(r.skipped, k)
			}
		}
		for _, s := range newSkipped {
			if _, ok := r.skipped[s.it]; ok {
				ch.Added = append(ch.Added, SkippedKey{Iteration: s.it, Key: s.mk})
			}
		}
	}
	return pt, ch, nil
}

// Gap is a run [From, To) of iterations not seen and still openable.
type Gap struct{ From, To uint32 }

// Gaps returns the skipped iterations still openable as ascending maximal runs (R1 per
// sender and epoch).
func (r *ReceiverChain) Gaps() []Gap { return GapsOf(slices.Sorted(maps.Keys(r.skipped))) }

// GapsOf returns ascending skipped iterations (a store's, kept apart from the chain) as
// ascending maximal runs, as Gaps.
func GapsOf(iterations []uint32) []Gap {
	var out []Gap
	for _, k := range iterations {
		if n := len(out); n > 0 && out[n-1].To == k {
			out[n-1].To++
		} else {
			out = append(out, Gap{From: k, To: k + 1})
		}
	}
	return out
}

// Next returns the lowest iteration the chain has not reached.
func (r *ReceiverChain) Next() uint32 { return r.next }

// Receiver chain state encoding (spec: "Messages"):
//
//	0x43 ('C') || u8 version (=1) || epoch id(32) || installation(16) || u32 next || chain(32) ||
//	u16 k (≤ MaxSkippedKeys) || k × (u32 iteration || message key(32)), iterations strictly
//	increasing and < next
const chainMagic, chainVersion = 0x43, 1

// MarshalBinary encodes the chain canonically.
func (r *ReceiverChain) MarshalBinary() ([]byte, error) {
	keys := slices.Sorted(maps.Keys(r.skipped))
	b := make([]byte, 0, 2+IDSize+InstallationSize+4+IDSize+2+len(keys)*(4+IDSize))
	b = append(b, chainMagic, chainVersion)
	b = append(b, r.Epoch[:]...)
	b = append(b, r.Installation[:]...)
	b = binary.BigEndian.AppendUint32(b, r.next)
	b = append(b, r.chain[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(keys)))
	for _, k := range keys {
		mk := r.skipped[k]
		b = append(binary.BigEndian.AppendUint32(b, k), mk[:]...)
	}
	return b, nil
}

// UnmarshalBinary replaces the chain with a decoded state (strict; unchanged on error).
func (r *ReceiverChain) UnmarshalBinary(data []byte) error {
	rd := reader{b: data}
	magic, ver := rd.u8(), rd.u8()
	if rd.err == nil && magic != chainMagic {
		return fmt.Errorf("%w: chain magic %#x", ErrMalformed, magic)
	}
	if rd.err == nil && ver != chainVersion {
		return fmt.Errorf("%w: chain version %d", ErrUnsupportedVersion, ver)
	}
	n := ReceiverChain{Epoch: rd.id(), Installation: rd.installation(), skipped: map[uint32][IDSize]byte{}}
	n.next = rd.u32()
	n.chain = rd.id()
	k := int(rd.u16())
	if rd.err == nil && k > MaxSkippedKeys {
		return fmt.Errorf("%w: %d skipped keys", ErrMalformed, k)
	}
	var prev uint32
	for j := 0; j < k && rd.err == nil; j++ {
		it, mk := rd.u32(), rd.id()
		if rd.err != nil {
			break
		}
		if it >= n.next || (j > 0 && it <= prev) {
			return fmt.Errorf("%w: skipped iterations not canonical", ErrMalformed)
		}
		n.skipped[it] = mk
		prev = it
	}
	if rd.err != nil {
		return rd.err
	}
	if rd.left() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, rd.left())
	}
	*r = n
	return nil
}

// Sender chain state encoding:
//
//	0x53 ('S') || u8 version (=1) || epoch id(32) || installation(16) || u32 next || chain(32)
const senderMagic = 0x53

// MarshalBinary encodes the sending chain.
func (s *SenderChain) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+IDSize+InstallationSize+4+IDSize)
	b = append(b, senderMagic, chainVersion)
	b = append(b, s.Epoch[:]...)
	b = append(b, s.Installation[:]...)
	b = binary.BigEndian.AppendUint32(b, s.next)
	return append(b, s.chain[:]...), nil
}

// UnmarshalBinary replaces the sending chain with a decoded state (strict).
func (s *SenderChain) UnmarshalBinary(data []byte) error {
	if len(data) != 2+IDSize+InstallationSize+4+IDSize {
		return fmt.Errorf("%w: sender chain of %d bytes", ErrMalformed, len(data))
	}
	if data[0] != senderMagic {
		return fmt.Errorf("%w: sender chain magic %#x", ErrMalformed, data[0])
	}
	if data[1] != chainVersion {
		return fmt.Errorf("%w: sender chain version %d", ErrUnsupportedVersion, data[1])
	}
	rd := reader{b: data[2:]}
	n := SenderChain{Epoch: rd.id(), Installation: rd.installation(), next: rd.u32(), chain: rd.id()}
	*s = n
	return nil
}
