package senderkeys

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"
)

// Header is the clear-text prefix of a group message:
// version (1 byte) || key id (8 bytes) || iteration (4 bytes, big-endian).
// It is the AEAD associated data and is covered by the signature.
type Header struct {
	Version   uint8
	KeyID     KeyID
	Iteration uint32
}

// ParseHeader reads the header of a group message without any cryptography, so that the
// caller can route the message by key id. It also checks that the message is long enough
// to hold a header, an AEAD tag and a signature.
func ParseHeader(message []byte) (Header, error) {
	if len(message) < Overhead {
		return Header{}, fmt.Errorf("%w: message of %d bytes, need at least %d", ErrMalformed, len(message), Overhead)
	}
	if message[0] != Version {
		return Header{}, fmt.Errorf("%w: message version %d", ErrUnsupportedVersion, message[0])
	}
	var h Header
	h.Version = message[0]
	copy(h.KeyID[:], message[1:9])
	h.Iteration = binary.BigEndian.Uint32(message[9:HeaderSize])
	if h.Iteration == maxIteration {
		return Header{}, fmt.Errorf("%w: reserved iteration", ErrMalformed)
	}
	return h, nil
}

// MarshalBinary returns the 13-byte encoding of the header.
func (h Header) MarshalBinary() ([]byte, error) {
	if h.Version != Version {
		return nil, fmt.Errorf("%w: header version %d", ErrUnsupportedVersion, h.Version)
	}
	if h.Iteration == maxIteration {
		return nil, fmt.Errorf("%w: reserved iteration", ErrMalformed)
	}
	return h.append(make([]byte, 0, HeaderSize)), nil
}

func (h Header) append(b []byte) []byte {
	b = append(b, h.Version)
	b = append(b, h.KeyID[:]...)
	return binary.BigEndian.AppendUint32(b, h.Iteration)
}

// messageDigest is the 32-byte digest a message signature covers:
// SHA-256(u8<labelMessageSignature> || u8<header> || u32<ciphertext>).
func messageDigest(header, ciphertext []byte) [32]byte {
	var prefix [1 + len(labelMessageSignature) + 1]byte
	prefix[0] = byte(len(labelMessageSignature))
	copy(prefix[1:], labelMessageSignature)
	prefix[len(prefix)-1] = byte(len(header))
	var ctLen [4]byte
	binary.BigEndian.PutUint32(ctLen[:], uint32(len(ciphertext)))

	h := sha256.New()
	h.Write(prefix[:])
	h.Write(header)
	h.Write(ctLen[:])
	h.Write(ciphertext)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// sealMessage encrypts and signs plaintext under message key mk; it does not touch any
// chain state.
func sealMessage(k *kdf, h Header, mk *[keySize]byte, plaintext []byte, signer *ecdsa.PrivateKey) ([]byte, error) {
	key, nonce := k.messageKeys(mk)
	defer wipe(key[:])
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return nil, err
	}
	out := h.append(make([]byte, 0, Overhead+len(plaintext)))
	out = aead.Seal(out, nonce[:], plaintext, out[:HeaderSize])
	digest := messageDigest(out[:HeaderSize], out[HeaderSize:])
	sig, err := crypto.Sign(digest[:], signer)
	if err != nil {
		return nil, fmt.Errorf("senderkeys: signing: %w", err)
	}
	return append(out, sig[:SignatureSize]...), nil
}

// verifyMessage checks the signature of a message (already length-checked by
// ParseHeader) under an uncompressed 65-byte or compressed 33-byte public key.
func verifyMessage(message, pub []byte) bool {
	body := message[:len(message)-SignatureSize]
	digest := messageDigest(body[:HeaderSize], body[HeaderSize:])
	return crypto.VerifySignature(pub, digest[:], message[len(message)-SignatureSize:])
}

// openMessage decrypts the ciphertext of a signature-checked message under mk.
func openMessage(k *kdf, mk *[keySize]byte, message []byte) ([]byte, error) {
	key, nonce := k.messageKeys(mk)
	defer wipe(key[:])
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return nil, err
	}
	ct := message[HeaderSize : len(message)-SignatureSize]
	pt, err := aead.Open(nil, nonce[:], ct, message[:HeaderSize])
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// signingKeyFromSeed turns 32 bytes into a secp256k1 private key, or fails if they are
// not a valid scalar (zero or not below the group order).
func signingKeyFromSeed(seed []byte) (*ecdsa.PrivateKey, error) {
	return crypto.ToECDSA(seed)
}

// newSigningKey draws a secp256k1 private key from rand (rejection sampling).
func newSigningKey(rand io.Reader) (*ecdsa.PrivateKey, error) {
	var seed [32]byte
	defer wipe(seed[:])
	for range 64 {
		if _, err := io.ReadFull(rand, seed[:]); err != nil {
			return nil, err
		}
		if k, err := signingKeyFromSeed(seed[:]); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("senderkeys: random source does not yield secp256k1 scalars")
}

// compressedPublic returns the 33-byte compressed public key of priv.
func compressedPublic(priv *ecdsa.PrivateKey) [33]byte {
	var out [33]byte
	copy(out[:], crypto.CompressPubkey(&priv.PublicKey))
	return out
}

// uncompressedPublic validates a compressed secp256k1 key and returns its 65-byte
// uncompressed form (cheaper to verify against).
func uncompressedPublic(compressed [33]byte) ([]byte, error) {
	pub, err := crypto.DecompressPubkey(compressed[:])
	if err != nil {
		return nil, fmt.Errorf("%w: invalid secp256k1 public key", ErrMalformed)
	}
	return crypto.FromECDSAPub(pub), nil
}

// compressPoint returns the compressed form of a valid 65-byte uncompressed point.
func compressPoint(pub []byte) [33]byte {
	var out [33]byte
	out[0] = 0x02 | pub[64]&1
	copy(out[1:], pub[1:33])
	return out
}
