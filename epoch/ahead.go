package epoch

import (
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Work ahead of a receiver chain: the message keys of a chain are a pure function of its
// chain key at any earlier iteration, so a caller may derive them and decrypt the
// messages of a batch on other cores (in order per chain only for the chain steps) while
// the chain itself is busy, then apply each result to the chain in order
// (OpenTrackedAhead).

// Opened is a message opened ahead of its receiver chain: a message of epoch Epoch at
// Iteration, opened with the message key of chain key Before (After being the chain key
// of the iteration after), and its plaintext.
type Opened struct {
	Epoch         ID
	Iteration     uint32
	Before, After [IDSize]byte
	Plaintext     []byte
}

// Cursor returns the chain key of the chain's next iteration, and that iteration.
func (r *ReceiverChain) Cursor() (chain [IDSize]byte, next uint32) { return r.chain, r.next }

// OpenAhead opens msg, a message of epoch eid at iteration it, with chain key before
// (the chain key of it): the decryption of Open, without its signature check or any
// chain. The result is for OpenTrackedAhead, which checks the signature.
func OpenAhead(eid ID, it uint32, before *[IDSize]byte, msg []byte) (*Opened, error) {
	h, err := ParseMessageHeader(msg)
	if err != nil {
		return nil, err
	}
	if h.Iteration != it {
		return nil, fmt.Errorf("%w: iteration %d, not %d", ErrMismatch, h.Iteration, it)
	}
	mk, after := ChainStep(before)
	key, nonce := MessageKeys(&mk)
	clear(mk[:])
	aead, err := chacha20poly1305.New(key[:])
	clear(key[:])
	if err != nil {
		return nil, err
	}
	body := msg[:len(msg)-SignatureSize]
	pt, err := aead.Open(nil, nonce[:], body[HeaderSize:], aeadAD(body[:HeaderSize], &eid))
	if err != nil {
		return nil, ErrDecrypt
	}
	return &Opened{Epoch: eid, Iteration: it, Before: *before, After: after, Plaintext: pt}, nil
}

// OpenTrackedAhead is OpenTracked of msg, opened ahead as o (nil: not opened ahead). The
// header and signature are checked as by OpenTracked; then, if the chain is this epoch's
// chain and its next iteration is o's, with o's chain key, it moves on to o.After and
// o's plaintext is returned, nothing being derived or decrypted again (o must be
// OpenAhead's result for msg). In any other case it is OpenTracked.
func (r *ReceiverChain) OpenTrackedAhead(verify Verifier, signingKey []byte, msg []byte, o *Opened) ([]byte, Change, error) {
	if o == nil || o.Epoch != r.Epoch || o.Iteration != r.next || o.Before != r.chain {
		return r.OpenTracked(verify, signingKey, msg)
	}
	var ch Change
	h, err := ParseMessageHeader(msg)
	if err != nil {
		return nil, ch, err
	}
	if h.Installation != r.Installation {
		return nil, ch, fmt.Errorf("%w: message of another installation", ErrMismatch)
	}
	if h.Iteration != o.Iteration {
		return r.OpenTracked(verify, signingKey, msg)
	}
	body := msg[:len(msg)-SignatureSize]
	d := messageDigest(&r.Epoch, body[:HeaderSize], body[HeaderSize:])
	if !verify(signingKey, d[:], msg[len(msg)-SignatureSize:]) {
		return nil, ch, ErrBadSignature
	}
	r.chain, r.next = o.After, o.Iteration+1
	return o.Plaintext, ch, nil
}
