package epoch

import (
	"crypto/cipher"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// outerAD returns 0x02 || topic.
func outerAD(topic string) []byte {
	ad := make([]byte, 1+len(topic))
	ad[0] = Version
	copy(ad[1:], topic)
	return ad
}

// SealOuter seals a group frame under the outer key of e:
// 0x02 || nonce(24) || XChaCha20-Poly1305(K_out, nonce, frame, ad = 0x02 || topic). rand
// supplies the 24-byte nonce.
func SealOuter(rand io.Reader, e *Epoch, topic string, frame []byte) ([]byte, error) {
	s, err := NewOuterSealer(e)
	if err != nil {
		return nil, err
	}
	return s.Seal(rand, topic, frame)
}

// OuterSealer seals group frames under one epoch's outer key (as SealOuter), the key
// derived and its cipher set up once: a sender keeps one for the epoch it seals under
// (issue 16), for no longer than it keeps the epoch.
type OuterSealer struct {
	aead cipher.AEAD
}

// NewOuterSealer returns the sealer of e's outer key.
func NewOuterSealer(e *Epoch) (*OuterSealer, error) {
	k := e.OuterKey()
	defer clear(k[:])
	aead, err := chacha20poly1305.NewX(k[:])
	if err != nil {
		return nil, err
	}
	return &OuterSealer{aead: aead}, nil
}

// Seal seals frame for topic (SealOuter's format); rand supplies the nonce.
func (s *OuterSealer) Seal(rand io.Reader, topic string, frame []byte) ([]byte, error) {
	out := make([]byte, 1+chacha20poly1305.NonceSizeX, OuterOverhead+len(frame))
	out[0] = Version
	if _, err := io.ReadFull(rand, out[1:]); err != nil {
		return nil, fmt.Errorf("epoch: reading randomness: %w", err)
	}
	return s.aead.Seal(out, out[1:], frame, outerAD(topic)), nil
}

// OpenOuter opens a group payload with the outer keys of live (tried newest first, that is
// from the end) and returns the frame and the epoch that opened it. ErrMalformed for a
// payload too short, ErrUnsupportedVersion for another version byte, ErrDecrypt when no
// live epoch opens it.
func OpenOuter(live []Epoch, topic string, payload []byte) ([]byte, Epoch, error) {
	return OpenOuterInto(nil, live, topic, payload)
}

// OpenOuterInto is OpenOuter that writes the frame into dst's storage (dst[:0] appended
// to) when it has room for it: a receiver that opens large frames into one buffer of its
// own does not allocate and zero one per frame (a key block: 150 KB at 1000 installations,
// issue 13). Whatever the outcome, dst's storage may have been written to.
func OpenOuterInto(dst []byte, live []Epoch, topic string, payload []byte) ([]byte, Epoch, error) {
	if len(payload) < OuterOverhead {
		return nil, Epoch{}, fmt.Errorf("%w: payload of %d bytes", ErrMalformed, len(payload))
	}
	if payload[0] != Version {
		return nil, Epoch{}, fmt.Errorf("%w: payload version %d", ErrUnsupportedVersion, payload[0])
	}
	for i := len(live) - 1; i >= 0; i-- {
		k := live[i].OuterKey()
		frame, err := openWithKey(dst, &k, topic, payload)
		clear(k[:])
		if err == nil {
			return frame, live[i], nil
		}
	}
	return nil, Epoch{}, ErrDecrypt
}

// OpenWithKey opens a group payload with one outer key (errors as OpenOuter).
func OpenWithKey(key *[IDSize]byte, topic string, payload []byte) ([]byte, error) {
	return openWithKey(nil, key, topic, payload)
}

// openWithKey is OpenWithKey writing into dst's storage if it has room (OpenOuterInto).
func openWithKey(dst []byte, key *[IDSize]byte, topic string, payload []byte) ([]byte, error) {
	if len(payload) < OuterOverhead {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrMalformed, len(payload))
	}
	if payload[0] != Version {
		return nil, fmt.Errorf("%w: payload version %d", ErrUnsupportedVersion, payload[0])
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	nonce, ct := payload[1:1+chacha20poly1305.NonceSizeX], payload[1+chacha20poly1305.NonceSizeX:]
	frame, err := aead.Open(dst[:0], nonce, ct, outerAD(topic))
	if err != nil {
		return nil, ErrDecrypt
	}
	return frame, nil
}
