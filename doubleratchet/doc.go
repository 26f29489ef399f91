// Package doubleratchet implements Signal's Double Ratchet for Chorus pairwise
// sessions: an HKDF-SHA256 root KDF, an HMAC-SHA256 chain KDF with distinct
// constants for message and chain keys, and ChaCha20-Poly1305 per message with
// the header and the caller's associated data bound as AEAD associated data.
//
// A session starts from an X3DH shared secret: the initiator with
// [NewInitiator] (its first remote ratchet key is the responder's signed
// prekey), the responder with [NewResponder] (its first ratchet key pair is
// that signed prekey). [Session.Decrypt] works on tentative values and commits
// them only after the message authenticates: a tampered, replayed or
// too-far-ahead message returns an error and leaves the session, and hence
// its [Session.MarshalBinary] bytes, unchanged.
//
// The package is pure: randomness is a parameter. A Session is not safe for
// concurrent use. Byte formats, labels and bounds are specified in
// spec/README.md, section "doubleratchet".
package doubleratchet

import "errors"

// Specification constants (spec/README.md, section "doubleratchet").
const (
	// Version is the message header version and the state encoding version.
	Version uint8 = 1

	// MaxSkip is the largest number of message keys one message may make the
	// receiver skip in a single chain. A message further ahead is refused
	// with ErrTooFarAhead.
	MaxSkip = 1000

	// MaxSkipTotal bounds the skipped message keys a session stores; beyond
	// it the oldest are discarded.
	MaxSkipTotal = 2000

	// MaxPreviousChains is how many previous remote ratchet keys a session
	// remembers, to refuse late or replayed messages of those chains as
	// ErrReplay without any Diffie-Hellman work.
	MaxPreviousChains = 5

	// HeaderSize is the size of the message header.
	HeaderSize = 1 + 32 + 4 + 4

	// Overhead is the size of a message minus the size of its plaintext.
	Overhead = HeaderSize + 16
)

// KDF labels and chain constants. Each use has its own label.
const (
	labelRoot       = "chorus/v1/doubleratchet/root"
	labelMessageKey = "chorus/v1/doubleratchet/message-key"

	chainMessageConst byte = 0x01 // HMAC(ck, 0x01) = message key
	chainNextConst    byte = 0x02 // HMAC(ck, 0x02) = next chain key
)

// Sentinel errors. Returned errors wrap one of these; test with errors.Is.
var (
	// ErrDecrypt reports a message that failed authentication. It is the
	// only error for that condition, whatever the cause.
	ErrDecrypt = errors.New("doubleratchet: message authentication failed")
	// ErrReplay reports a message whose key was already used or discarded.
	ErrReplay = errors.New("doubleratchet: message key already used or discarded")
	// ErrTooFarAhead reports a message that would skip more than MaxSkip keys.
	ErrTooFarAhead = errors.New("doubleratchet: message too far ahead")
	// ErrNoSendingChain reports Encrypt on a responder session that has not
	// yet received a message.
	ErrNoSendingChain = errors.New("doubleratchet: no sending chain before the first received message")
	// ErrChainExhausted reports a sending chain whose message counter is spent.
	ErrChainExhausted = errors.New("doubleratchet: sending chain exhausted")
	// ErrMalformed reports a message or state encoding that does not parse.
	ErrMalformed = errors.New("doubleratchet: malformed encoding")
	// ErrVersion reports an unsupported message or state version.
	ErrVersion = errors.New("doubleratchet: unsupported version")
	// ErrInvalidKey reports an unusable X25519 key given to a constructor.
	ErrInvalidKey = errors.New("doubleratchet: invalid X25519 key")
)
