// Package x3dh implements the X3DH key agreement (Signal's "Extended Triple
// Diffie-Hellman") for Chorus installations, over X25519 with secp256k1-signed
// prekeys.
//
// An installation owns an [Identity]: a random [InstallationID], an X25519
// identity key and a secp256k1 signing key. It publishes a [Bundle] holding its
// [PublicIdentity], a [SignedPrekey] (signed by the signing key, with an expiry)
// and optionally one-time prekeys. An initiator verifies the bundle and calls
// [Initiate]; it sends the returned [Header] together with its first Double
// Ratchet message. The responder calls [Respond] with the header. Both obtain
// the same 32-byte shared secret and the same associated data, which binds the
// encodings of both public identities (initiator first).
//
// The package is pure: randomness and time are parameters, and it never reads
// the clock or the global random source. All byte formats, labels and bounds
// are specified in spec/README.md, section "x3dh".
package x3dh

import (
	"errors"
	"time"
)

// Specification constants (spec/README.md, section "x3dh").
const (
	// Version is the only encoding version of bundles, headers and secret
	// key encodings this package reads and writes.
	Version uint8 = 1

	// MaxBundleOneTimePrekeys bounds the number of one-time prekeys in a bundle.
	MaxBundleOneTimePrekeys = 100

	// SignedPrekeyGrace is how long after its expiry a responder still
	// accepts an initial message addressed to one of its signed prekeys: the
	// message may have been sent before the expiry and delivered late.
	SignedPrekeyGrace = 7 * 24 * time.Hour
)

// KDF and signature labels. Each use has its own label.
const (
	labelSecret       = "chorus/v1/x3dh/secret"
	labelSignedPrekey = "chorus/v1/x3dh/signed-prekey"
)

// Sentinel errors. Returned errors wrap one of these; test with errors.Is.
var (
	// ErrMalformed reports an encoding that does not parse or is not canonical.
	ErrMalformed = errors.New("x3dh: malformed encoding")
	// ErrVersion reports an unsupported encoding version.
	ErrVersion = errors.New("x3dh: unsupported version")
	// ErrInvalidPoint reports an X25519 public key that is not canonical or
	// has low order (including a Diffie-Hellman result of all zeros).
	ErrInvalidPoint = errors.New("x3dh: invalid or low-order X25519 public key")
	// ErrInvalidSigningKey reports a secp256k1 public key that is not a valid
	// compressed point.
	ErrInvalidSigningKey = errors.New("x3dh: invalid secp256k1 signing key")
	// ErrBadSignature reports a signed prekey whose signature does not verify.
	ErrBadSignature = errors.New("x3dh: bad signed prekey signature")
	// ErrExpiredPrekey reports a signed prekey past its expiry.
	ErrExpiredPrekey = errors.New("x3dh: signed prekey expired")
	// ErrUnknownSignedPrekey reports a header naming a signed prekey the
	// responder does not have.
	ErrUnknownSignedPrekey = errors.New("x3dh: unknown signed prekey")
	// ErrUnknownOneTimePrekey reports a header naming a one-time prekey the
	// responder does not have (never issued, or already used).
	ErrUnknownOneTimePrekey = errors.New("x3dh: unknown one-time prekey")
)
