// Package senderkeys implements Chorus group messages with per-sender symmetric chains
// ("Sender Keys"): every installation in a group owns a sender key (random key id, chain
// key, iteration, secp256k1 signing key) and seals each group message once, whatever the
// group size. Recipients hold a Receiver per sender installation, fed with signed
// Distribution records delivered over pairwise sessions.
//
// The wire formats, labels and bounds are specified in spec/README.md, section
// "senderkeys"; conformance vectors are in spec/vectors/senderkeys.json.
//
// The package is pure: randomness is a parameter, nothing reads the clock, the network or
// a database. Sender and Receiver are not safe for concurrent use; the caller serialises
// access and persists MarshalBinary after each state change (Seal, Process, Open).
package senderkeys

import (
	"encoding/hex"
	"errors"
)

// Specification constants (spec/README.md, senderkeys: "Bounds").
const (
	// Version is the version byte of messages and distributions defined here.
	Version = 1

	// MaxSkippedKeys bounds the message keys a receiver stores for skipped iterations of
	// one sender key; when it is exceeded the lowest iterations are evicted first.
	MaxSkippedKeys = 2000

	// MaxForwardJump bounds how many iterations one message may skip ahead of the next
	// iteration a receiver expects; a larger jump is refused with ErrTooFarAhead.
	MaxForwardJump = 25000

	// MaxEpochs bounds the sender keys (epochs) a Receiver holds for one sender
	// installation; the oldest is retired first.
	MaxEpochs = 5

	// MaxRetiredKeyIDs bounds the key ids of retired epochs a Receiver remembers so that a
	// late distribution cannot bring a retired epoch (and its consumed iterations) back.
	MaxRetiredKeyIDs = 32

	// MaxGroupSize bounds the length of the opaque group reference.
	MaxGroupSize = 1024

	// HeaderSize is the size of a message header: version, key id, iteration.
	HeaderSize = 1 + 8 + 4

	// SignatureSize is the size of a message or distribution signature (R || S).
	SignatureSize = 64

	// Overhead is how much longer a message is than its plaintext.
	Overhead = HeaderSize + tagSize + SignatureSize
)

// maxIteration is reserved: a sender never seals it, so iteration+1 always fits.
const maxIteration = ^uint32(0)

// Sentinel errors. Errors returned by this package wrap one of them (errors.Is).
var (
	// ErrMalformed reports an encoding that does not follow the specification.
	ErrMalformed = errors.New("senderkeys: malformed input")
	// ErrUnsupportedVersion reports a message, distribution or state of another version.
	ErrUnsupportedVersion = errors.New("senderkeys: unsupported version")
	// ErrUnknownKey reports a message under a key id the receiver does not hold.
	ErrUnknownKey = errors.New("senderkeys: unknown key id")
	// ErrBadSignature reports a message or distribution whose signature does not verify.
	ErrBadSignature = errors.New("senderkeys: bad signature")
	// ErrDecrypt reports a correctly signed message that fails authenticated decryption.
	ErrDecrypt = errors.New("senderkeys: message authentication failed")
	// ErrReplay reports an iteration already opened, evicted, or older than the state the
	// receiver was given.
	ErrReplay = errors.New("senderkeys: iteration already used or no longer available")
	// ErrTooFarAhead reports a message more than MaxForwardJump iterations ahead.
	ErrTooFarAhead = errors.New("senderkeys: iteration too far ahead")
	// ErrDistributionMismatch reports a distribution for another group or installation,
	// or one that contradicts the signed fields of an epoch the receiver holds.
	ErrDistributionMismatch = errors.New("senderkeys: distribution does not match the receiver")
	// ErrStaleDistribution reports a distribution for a retired epoch, or one older than
	// every epoch held when the receiver is full.
	ErrStaleDistribution = errors.New("senderkeys: stale distribution")
	// ErrChainExhausted reports a sender whose iterations are used up; Rotate it.
	ErrChainExhausted = errors.New("senderkeys: chain exhausted")
)

// KeyID identifies one sender key (epoch); it is drawn at random and sent in clear in
// every message header so that receivers can route messages.
type KeyID [8]byte

// String returns the key id in lowercase hex.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// validGroup reports whether group is an acceptable group reference.
func validGroup(group []byte) bool {
	return len(group) >= 1 && len(group) <= MaxGroupSize
}

// wipe overwrites b with zeros (best effort: the compiler may keep other copies).
func wipe(b []byte) {
	clear(b)
}
