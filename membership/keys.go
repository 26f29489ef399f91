package membership

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"unsafe"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/secp256k1"
	"golang.org/x/crypto/sha3"
)

// Specification constants.
const (
	// SignatureLength is the length of an event or envelope signature: R||S||V.
	SignatureLength = 65
	// PublicKeyStringLength is the length of a public key string: "0x" + 130 hex digits.
	PublicKeyStringLength = 2 + 2*65
	// MaxClockDriftMs is how far in the future (milliseconds after the receiver's clock) an
	// event clock may be when a message is received (status-go maxWhisperFutureDriftMs).
	MaxClockDriftMs = 120000
)

// Errors about keys.
var (
	// ErrInvalidPublicKey reports a member string that is not a secp256k1 public key.
	ErrInvalidPublicKey = errors.New("membership: invalid public key")
)

// PublicKeyString encodes pub as status-go writes member ids and authors:
// "0x" + lowercase hex of the 65-byte uncompressed key (04||X||Y).
func PublicKeyString(pub *ecdsa.PublicKey) string {
	return keyString(crypto.FromECDSAPub(pub))
}

// keyString renders a 65-byte uncompressed key as a public key string (one allocation: the
// string is the buffer it was written in, which nothing else refers to).
func keyString(uncompressed []byte) string {
	b := make([]byte, 2+2*len(uncompressed))
	b[0], b[1] = '0', 'x'
	hex.Encode(b[2:], uncompressed)
	return unsafe.String(&b[0], len(b))
}

// ParsePublicKey parses a member id as status-go's hexToPubkey does: a "0x"/"0X"-prefixed
// hex string (either case) of a 65-byte uncompressed secp256k1 point on the curve.
// Note that two different strings (e.g. upper and lower case) can name the same key;
// membership compares strings, exactly as status-go does.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	b, err := decodeHex(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
	}
	x, y, ok := unmarshalPoint(b)
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPublicKey, errStatusInvalidPubkey)
	}
	return &ecdsa.PublicKey{Curve: crypto.S256(), X: x, Y: y}, nil
}

// errStatusInvalidPubkey is go-ethereum's UnmarshalPubkey error text.
var errStatusInvalidPubkey = errors.New("invalid secp256k1 public key")

// unmarshalPoint is crypto/elliptic.Unmarshal for secp256k1: 0x04 || X || Y with X, Y < P
// and the point on the curve.
func unmarshalPoint(b []byte) (x, y *big.Int, ok bool) {
	if len(b) != 65 || b[0] != 4 {
		return nil, nil, false
	}
	curve := secp256k1.S256()
	x = new(big.Int).SetBytes(b[1:33])
	y = new(big.Int).SetBytes(b[33:])
	if !curve.IsOnCurve(x, y) { // also checks x, y < P
		return nil, nil, false
	}
	return x, y, true
}

// Hex decoding errors, with the texts of status-go's eth-node/types (go-ethereum hexutil).
var (
	errHexEmpty         = errors.New("empty hex string")
	errHexSyntax        = errors.New("invalid hex string")
	errHexMissingPrefix = errors.New("hex string without 0x prefix")
	errHexOddLength     = errors.New("hex string of odd length")
)

// decodeHex is status-go's types.DecodeHex.
func decodeHex(s string) ([]byte, error) {
	if len(s) == 0 {
		return nil, errHexEmpty
	}
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return nil, errHexMissingPrefix
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		var ib hex.InvalidByteError
		switch {
		case errors.As(err, &ib):
			return b, errHexSyntax
		case errors.Is(err, hex.ErrLength):
			return b, errHexOddLength
		}
		return b, err
	}
	return b, nil
}

// NewChatID returns a new group chat id as status-go builds it:
// "<uuid v4>-" + PublicKeyString(creator). The UUID is drawn from rand.
func NewChatID(rand io.Reader, creator *ecdsa.PublicKey) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(rand, u[:]); err != nil {
		return "", fmt.Errorf("membership: chat id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return formatUUID(u) + "-" + PublicKeyString(creator), nil
}

// formatUUID renders u as 8-4-4-4-12 lowercase hex.
func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// isUUID reports whether s has the textual form 8-4-4-4-12 of lowercase hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// signingDigest returns Keccak256(utf8(chatID) || payload), the digest every event signs.
func signingDigest(chatID string, payload []byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(chatID))
	h.Write(payload)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// recoverAuthor recovers the author key string of sig over digest, with go-ethereum's
// (libsecp256k1) error texts: V must be 0..3, R and S valid scalars.
func recoverAuthor(digest [32]byte, sig []byte) (string, error) {
	pub, err := crypto.Ecrecover(digest[:], sig)
	if err != nil {
		return "", err
	}
	return keyString(pub), nil
}

// SigningDigest returns Keccak256(utf8(chatID) || payload): the digest an event's signature
// is over (status-go's signature material hashed with legacy Keccak-256).
func SigningDigest(chatID string, payload []byte) [32]byte { return signingDigest(chatID, payload) }
