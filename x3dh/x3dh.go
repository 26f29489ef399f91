package x3dh

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"
	"time"
)

// PrekeyLookup gives Respond access to the responder's private prekeys.
type PrekeyLookup interface {
	SignedPrekey(id uint32) (*SignedPrekey, bool)
	OneTimePrekey(id uint32) (*OneTimePrekey, bool)
}

// Initiate runs the initiator side of X3DH against bundle: it verifies the
// bundle at now (see Bundle.Verify), draws a 32-byte ephemeral private key
// from rand, and uses the bundle's first one-time prekey if it has any.
//
// It returns the 32-byte shared secret, the associated data (encoding of the
// initiator's public identity followed by the responder's, 162 bytes) and the
// header to send with the first Double Ratchet message.
func Initiate(rand io.Reader, ours *Identity, bundle *Bundle, now time.Time) (secret [32]byte, ad []byte, hdr *Header, err error) {
	if err := bundle.Verify(now); err != nil {
		return secret, nil, nil, err
	}
	ek, err := generateX25519(rand)
	if err != nil {
		return secret, nil, nil, err
	}
	h := &Header{
		Version:        Version,
		Initiator:      ours.pub,
		SignedPrekeyID: bundle.SignedPrekeyID,
	}
	copy(h.Ephemeral[:], ek.PublicKey().Bytes())

	var ikm ikmBuffer
	ikm.add(dh(ours.dh, &bundle.SignedPrekey)) // DH1 = DH(IK_A, SPK_B)
	ikm.add(dh(ek, &bundle.Identity.DH))       // DH2 = DH(EK_A, IK_B)
	ikm.add(dh(ek, &bundle.SignedPrekey))      // DH3 = DH(EK_A, SPK_B)
	if len(bundle.OneTimePrekeys) > 0 {
		otk := &bundle.OneTimePrekeys[0]
		h.HasOneTimePrekey = true
		h.OneTimePrekeyID = otk.ID
		ikm.add(dh(ek, &otk.Key)) // DH4 = DH(EK_A, OPK_B)
	}
	secret, err = ikm.derive()
	if err != nil {
		return secret, nil, nil, err
	}
	return secret, associatedData(&ours.pub, &bundle.Identity), h, nil
}

// Respond runs the responder side of X3DH for an initiator's header. It
// validates the initiator's keys and the ephemeral key, looks up the signed
// prekey (accepted until its expiry plus SignedPrekeyGrace) and, if the
// header names one, the one-time prekey.
//
// It returns the shared secret and the associated data (initiator's public
// identity encoding followed by ours). The caller deletes the one-time prekey
// once the first message has authenticated, and persists that deletion.
func Respond(ours *Identity, prekeys PrekeyLookup, hdr *Header, now time.Time) (secret [32]byte, ad []byte, err error) {
	if hdr.Version != Version {
		return secret, nil, fmt.Errorf("%w: %d", ErrVersion, hdr.Version)
	}
	if err := hdr.Initiator.check(); err != nil {
		return secret, nil, fmt.Errorf("%w (initiator identity)", err)
	}
	if err := checkPoint(&hdr.Ephemeral); err != nil {
		return secret, nil, fmt.Errorf("%w (ephemeral key)", err)
	}
	spk, ok := prekeys.SignedPrekey(hdr.SignedPrekeyID)
	if !ok || spk == nil {
		return secret, nil, fmt.Errorf("%w: %d", ErrUnknownSignedPrekey, hdr.SignedPrekeyID)
	}
	if now.Add(-SignedPrekeyGrace).Unix() >= spk.expires {
		return secret, nil, fmt.Errorf("%w: signed prekey %d expired at %d", ErrExpiredPrekey, spk.id, spk.expires)
	}
	var otk *OneTimePrekey
	if hdr.HasOneTimePrekey {
		otk, ok = prekeys.OneTimePrekey(hdr.OneTimePrekeyID)
		if !ok || otk == nil {
			return secret, nil, fmt.Errorf("%w: %d", ErrUnknownOneTimePrekey, hdr.OneTimePrekeyID)
		}
	}

	var ikm ikmBuffer
	ikm.add(dh(spk.priv, &hdr.Initiator.DH)) // DH1
	ikm.add(dh(ours.dh, &hdr.Ephemeral))     // DH2
	ikm.add(dh(spk.priv, &hdr.Ephemeral))    // DH3
	if otk != nil {
		ikm.add(dh(otk.priv, &hdr.Ephemeral)) // DH4
	}
	secret, err = ikm.derive()
	if err != nil {
		return secret, nil, err
	}
	return secret, associatedData(&hdr.Initiator, &ours.pub), nil
}

// associatedData returns Encode(initiator) || Encode(responder).
func associatedData(initiator, responder *PublicIdentity) []byte {
	ad := make([]byte, 0, 2*publicIdentitySize)
	ad = appendPublicIdentity(ad, initiator)
	return appendPublicIdentity(ad, responder)
}

// ikmBuffer accumulates F || DH1 || DH2 || DH3 [|| DH4] and remembers the
// first Diffie-Hellman failure.
type ikmBuffer struct {
	buf [32 * 5]byte
	n   int
	err error
}

func (b *ikmBuffer) add(out []byte, err error) {
	if b.err != nil {
		return
	}
	if err != nil {
		b.err = err
		return
	}
	if b.n == 0 {
		for i := range 32 {
			b.buf[i] = 0xff // F: 32 bytes of 0xFF
		}
		b.n = 32
	}
	b.n += copy(b.buf[b.n:], out)
	clear(out)
}

// derive returns HKDF-SHA256(salt = 32 zero bytes, ikm, info = labelSecret, 32)
// and wipes the buffer.
func (b *ikmBuffer) derive() (secret [32]byte, err error) {
	defer clear(b.buf[:])
	if b.err != nil {
		return secret, b.err
	}
	var salt [32]byte
	k, err := hkdf.Key(sha256.New, b.buf[:b.n], salt[:], labelSecret, 32)
	if err != nil {
		return secret, fmt.Errorf("x3dh: hkdf: %w", err)
	}
	copy(secret[:], k)
	clear(k)
	return secret, nil
}
