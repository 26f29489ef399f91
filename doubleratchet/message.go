package doubleratchet

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// header is the message header: version || ratchet public key (32) ||
// u32 PN || u32 N, 41 bytes.
type header struct {
	dh [32]byte
	pn uint32
	n  uint32
}

func (h *header) put(b []byte) {
	_ = b[HeaderSize-1]
	b[0] = Version
	copy(b[1:33], h.dh[:])
	binary.BigEndian.PutUint32(b[33:37], h.pn)
	binary.BigEndian.PutUint32(b[37:41], h.n)
}

// parseMessage splits a message into header and ciphertext (tag included).
// It refuses short messages, unknown versions and non-canonical ratchet keys.
func parseMessage(msg []byte) (h header, ct []byte, err error) {
	if len(msg) < Overhead {
		return h, nil, fmt.Errorf("%w: message of %d bytes", ErrMalformed, len(msg))
	}
	if msg[0] != Version {
		return h, nil, fmt.Errorf("%w: message version %d", ErrVersion, msg[0])
	}
	copy(h.dh[:], msg[1:33])
	if !canonicalX25519(&h.dh) {
		return h, nil, fmt.Errorf("%w: non-canonical ratchet key", ErrMalformed)
	}
	h.pn = binary.BigEndian.Uint32(msg[33:37])
	h.n = binary.BigEndian.Uint32(msg[37:41])
	return h, msg[HeaderSize:], nil
}

// canonicalX25519 reports whether the little-endian u has bit 255 clear and
// is below 2^255-19. (Small-order points are refused by crypto/ecdh, whose
// X25519 fails on an all-zero result.)
func canonicalX25519(u *[32]byte) bool {
	if u[31]&0x80 != 0 {
		return false
	}
	if u[31] != 0x7f || u[0] < 0xed {
		return true
	}
	for _, b := range u[1:31] {
		if b != 0xff {
			return true
		}
	}
	return false
}

// seal encrypts plaintext under message key mk. The AEAD associated data is
// ad || header; the result is header || ciphertext. ad, header and the
// message share one allocation.
func seal(mk *[32]byte, h *header, plaintext, ad []byte) []byte {
	key, nonce := messageKeys(mk)
	defer clear(key[:])
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic(err) // key has the right size
	}
	adEnd := len(ad) + HeaderSize
	buf := make([]byte, adEnd, adEnd+len(plaintext)+chacha20poly1305.Overhead)
	copy(buf, ad)
	h.put(buf[len(ad):adEnd])
	out := aead.Seal(buf, nonce[:], plaintext, buf[:adEnd])
	return out[len(ad):]
}

// open authenticates and decrypts ct (tag included) under mk with associated
// data ad || hdr. It returns ErrDecrypt on any failure.
func open(mk *[32]byte, hdr, ct, ad []byte) ([]byte, error) {
	key, nonce := messageKeys(mk)
	defer clear(key[:])
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic(err)
	}
	adEnd := len(ad) + HeaderSize
	buf := make([]byte, adEnd, adEnd+len(ct)-chacha20poly1305.Overhead)
	copy(buf, ad)
	copy(buf[len(ad):], hdr)
	pt, err := aead.Open(buf[adEnd:], nonce[:], ct, buf[:adEnd])
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
