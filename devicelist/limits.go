package devicelist

import "errors"

// Specification constants (spec/README.md, section "protocol", "Device list").
const (
	// Version is the version byte that starts a device list.
	Version = 1
	// MaxEntries is the most entries a device list may have over the account's life,
	// revoked ones included (revocations are never forgotten); also the most bundles it
	// may carry.
	MaxEntries = 64
	// MaxActive is the most active (unrevoked) entries a device list may have; a list
	// with more is refused by every peer.
	MaxActive = 16
	// AccountKeySize is the size of the account key (uncompressed secp256k1).
	AccountKeySize = 65
	// SignatureSize is the size of the account signature (secp256k1 R || S).
	SignatureSize = 64
	// BindingSize is the size of an installation's binding signature (secp256k1 R || S).
	BindingSize = 64

	entrySize   = 16 + 32 + 33 + 1
	bindingSize = 16 + BindingSize
)

// Signature labels, one per use (spec: protocol, "Labels"). The device-list label keeps
// its wire value "card", the list's earlier name: changing it would change every
// signature.
const (
	labelList    = "chorus/v1/protocol/card"
	labelBinding = "chorus/v1/protocol/installation-binding"
)

// Sentinel errors. Returned errors wrap one of these; test with errors.Is.
var (
	// ErrMalformed reports bytes that are not a canonical device list.
	ErrMalformed = errors.New("devicelist: malformed device list")
	// ErrBadSignature reports a device list whose account signature does not verify (or
	// whose account key is not a valid secp256k1 point).
	ErrBadSignature = errors.New("devicelist: bad account signature")
	// ErrInvalid reports a device list that breaks the list rules: an installation
	// listed twice, or more than MaxActive active entries.
	ErrInvalid = errors.New("devicelist: invalid device list")
	// ErrTooLarge reports a list to encode with more than MaxEntries entries or bundles,
	// or a bundle too large for its length prefix.
	ErrTooLarge = errors.New("devicelist: device list too large")
)
