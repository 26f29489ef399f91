// Command x3dh writes the conformance vectors of package x3dh (spec/README.md,
// ## x3dh) to DIR/x3dh.json. Output is byte-deterministic: every key comes from
// a ChaCha8 stream seeded with SHA-256 of a fixed label, and times are fixed.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"

	"github.com/chorus-im/chorus/x3dh"
)

// Case is one vector. Kind selects the operation:
//   - "agree": Initiate(initiator_identity, bundle, ephemeral, now) must give
//     header, secret and ad; Respond(responder_identity, {signed_prekey,
//     one_time_prekey}, header, now) must give the same secret and ad; compact_header
//     is the header without its initiator identity (MarshalCompact), and
//     ParseCompactHeader(compact_header, initiator's public identity) gives header.
//   - "initiate": ParseBundle(bundle) then Initiate must fail with expect.
//   - "respond": ParseHeader(header) then Respond must fail with expect.
type Case struct {
	Name              string `json:"name"`
	Expect            string `json:"expect"`
	Kind              string `json:"kind"`
	Now               int64  `json:"now"`
	InitiatorIdentity string `json:"initiator_identity,omitempty"`
	ResponderIdentity string `json:"responder_identity,omitempty"`
	SignedPrekey      string `json:"signed_prekey,omitempty"`
	OneTimePrekey     string `json:"one_time_prekey,omitempty"`
	Bundle            string `json:"bundle,omitempty"`
	SignatureDigest   string `json:"signature_digest,omitempty"`
	Ephemeral         string `json:"ephemeral,omitempty"`
	Header            string `json:"header,omitempty"`
	CompactHeader     string `json:"compact_header,omitempty"`
	Secret            string `json:"secret,omitempty"`
	AD                string `json:"ad,omitempty"`
}

// File is the vector file.
type File struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}

var (
	now     = time.Unix(1_750_000_000, 0)
	expires = now.Add(14 * 24 * time.Hour)
)

func seeded(label string) io.Reader {
	return mrand.NewChaCha8(sha256.Sum256([]byte("chorus/v1/vectors/x3dh/" + label)))
}

func bytesFrom(label string, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(seeded(label), b); err != nil {
		panic(err)
	}
	return b
}

type installation struct {
	id   *x3dh.Identity
	spk  *x3dh.SignedPrekey
	otks []*x3dh.OneTimePrekey
}

func newInstallation(label string, spkID uint32, nOTK int) installation {
	r := seeded(label)
	id := must(x3dh.GenerateIdentity(r))
	spk := must(id.NewSignedPrekey(r, spkID, expires))
	otks := must(x3dh.GenerateOneTimePrekeys(r, 1000, nOTK))
	return installation{id, spk, otks}
}

func (in installation) bundle(nOTK int) *x3dh.Bundle {
	return must(x3dh.NewBundle(in.id, in.spk, in.otks[:nOTK]))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func enc(v interface{ MarshalBinary() ([]byte, error) }) string {
	return hex.EncodeToString(must(v.MarshalBinary()))
}

// digest recomputes the signed prekey statement digest from spec/README.md,
// independently of the package.
func digest(b *x3dh.Bundle) []byte {
	c := cryptobyte.NewBuilder(nil)
	c.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte("chorus/v1/x3dh/signed-prekey")) })
	c.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(b.Identity.ID[:]) })
	c.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(b.Identity.DH[:]) })
	c.AddUint32(b.SignedPrekeyID)
	c.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(b.SignedPrekey[:]) })
	c.AddUint64(uint64(b.Expires))
	d := sha256.Sum256(c.BytesOrPanic())
	return d[:]
}

// resign signs b's statement with key, so that a deliberately invalid field
// is the only defect of the bundle.
func resign(b *x3dh.Bundle, in installation) {
	sig := must(crypto.Sign(digest(b), in.id.SigningKey()))
	copy(b.Signature[:], sig[:64])
}

func clone(b *x3dh.Bundle) *x3dh.Bundle {
	c := *b
	c.OneTimePrekeys = append([]x3dh.OneTimePrekeyPublic(nil), b.OneTimePrekeys...)
	return &c
}

func build() File {
	f := File{Description: "Chorus X3DH: key agreement with and without one-time prekey in both directions, " +
		"and every rejection class. Secret key fields use the package's secret encodings (spec: x3dh, " +
		"Secret key encodings). expect: success | bad_signature | expired_prekey | invalid_point | " +
		"invalid_signing_key | unknown_signed_prekey | unknown_one_time_prekey | unsupported_version | malformed."}
	alice := newInstallation("alice", 1, 2)
	bob := newInstallation("bob", 7, 3)
	lowOrder := [32]byte{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00}
	var nonCanonical [32]byte // p + 1 (= 1 mod p)
	nonCanonical[0] = 0xee
	for i := 1; i < 31; i++ {
		nonCanonical[i] = 0xff
	}
	nonCanonical[31] = 0x7f

	agree := func(name string, ini, res installation, nOTK int) {
		b := res.bundle(nOTK)
		eph := bytesFrom(name, 32)
		secret, ad, hdr, err := x3dh.Initiate(bytes.NewReader(eph), ini.id, b, now)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
		c := Case{Name: name, Expect: "success", Kind: "agree", Now: now.Unix(),
			InitiatorIdentity: enc(ini.id), ResponderIdentity: enc(res.id), SignedPrekey: enc(res.spk),
			Bundle: enc(b), SignatureDigest: hex.EncodeToString(digest(b)), Ephemeral: hex.EncodeToString(eph),
			Header: enc(hdr), Secret: hex.EncodeToString(secret[:]), AD: hex.EncodeToString(ad)}
		compact, err := hdr.MarshalCompact()
		if err != nil {
			panic(err)
		}
		c.CompactHeader = hex.EncodeToString(compact)
		if nOTK > 0 {
			c.OneTimePrekey = enc(res.otks[0])
		}
		f.Cases = append(f.Cases, c)
	}
	agree("agree_with_one_time_prekey", alice, bob, 3)
	agree("agree_without_one_time_prekey", alice, bob, 0)
	agree("agree_reverse_direction", bob, alice, 2)

	initiate := func(name, expect string, at time.Time, mutate func(b *x3dh.Bundle)) {
		b := clone(bob.bundle(1))
		mutate(b)
		raw := must(b.MarshalBinary())
		f.Cases = append(f.Cases, Case{Name: name, Expect: expect, Kind: "initiate", Now: at.Unix(),
			InitiatorIdentity: enc(alice.id), Bundle: hex.EncodeToString(raw),
			Ephemeral: hex.EncodeToString(bytesFrom(name, 32))})
	}
	initiate("signature_bit_flipped", "bad_signature", now, func(b *x3dh.Bundle) { b.Signature[5] ^= 0x10 })
	initiate("expiry_extended", "bad_signature", now, func(b *x3dh.Bundle) { b.Expires += 86400 })
	initiate("signed_prekey_id_changed", "bad_signature", now, func(b *x3dh.Bundle) { b.SignedPrekeyID++ })
	initiate("signed_by_other_installation", "bad_signature", now, func(b *x3dh.Bundle) {
		b.Identity.Signing = alice.id.Public().Signing
	})
	initiate("expired_at_expiry", "expired_prekey", expires, func(*x3dh.Bundle) {})
	initiate("low_order_signed_prekey", "invalid_point", now, func(b *x3dh.Bundle) { b.SignedPrekey = lowOrder; resign(b, bob) })
	initiate("low_order_identity_key", "invalid_point", now, func(b *x3dh.Bundle) { b.Identity.DH = lowOrder; resign(b, bob) })
	initiate("zero_one_time_prekey", "invalid_point", now, func(b *x3dh.Bundle) { b.OneTimePrekeys[0].Key = [32]byte{} })
	initiate("non_canonical_signed_prekey", "invalid_point", now, func(b *x3dh.Bundle) { b.SignedPrekey = nonCanonical; resign(b, bob) })
	initiate("signing_key_not_on_curve", "invalid_signing_key", now, func(b *x3dh.Bundle) {
		b.Identity.Signing = [33]byte{2, 31: 0, 32: 5}
	})
	// Precedence when several checks fail (Verify: version, X25519 keys, expiry, signature;
	// the signing key is parsed only at the signature step).
	initiate("low_order_key_and_expired", "invalid_point", expires, func(b *x3dh.Bundle) { b.SignedPrekey = lowOrder; resign(b, bob) })
	initiate("expired_and_bad_signature", "expired_prekey", expires, func(b *x3dh.Bundle) { b.Signature[5] ^= 0x10 })
	initiate("expired_and_signing_key_not_on_curve", "expired_prekey", expires, func(b *x3dh.Bundle) {
		b.Identity.Signing = [33]byte{2, 31: 0, 32: 5}
	})
	// Structurally invalid bundles cannot come out of MarshalBinary: edit the bytes.
	raw := func(name, expect string, edit func(raw []byte) []byte) {
		f.Cases = append(f.Cases, Case{Name: name, Expect: expect, Kind: "initiate", Now: now.Unix(),
			InitiatorIdentity: enc(alice.id), Bundle: hex.EncodeToString(edit(must(bob.bundle(1).MarshalBinary()))),
			Ephemeral: hex.EncodeToString(bytesFrom(name, 32))})
	}
	raw("bundle_version_2", "unsupported_version", func(b []byte) []byte { b[0] = 2; return b })
	// Precedence: the version byte is read before the structure.
	raw("bundle_version_2_truncated", "unsupported_version", func(b []byte) []byte { b[0] = 2; return b[:40] })
	raw("bundle_trailing_byte", "malformed", func(b []byte) []byte { return append(b, 0) })
	raw("bundle_too_many_one_time_prekeys", "malformed", func(b []byte) []byte {
		n := x3dh.MaxBundleOneTimePrekeys + 1
		b = b[:len(b)-2-36]
		b = append(b, byte(n>>8), byte(n))
		return append(b, make([]byte, 36*n)...)
	})

	_, _, hdr, err := x3dh.Initiate(bytes.NewReader(bytesFrom("respond", 32)), alice.id, bob.bundle(1), now)
	if err != nil {
		panic(err)
	}
	respond := func(name, expect string, at time.Time, withOTK bool, mutate func(h *x3dh.Header) []byte) {
		h := *hdr
		raw := mutate(&h)
		if raw == nil {
			raw = must(h.MarshalBinary())
		}
		c := Case{Name: name, Expect: expect, Kind: "respond", Now: at.Unix(),
			ResponderIdentity: enc(bob.id), SignedPrekey: enc(bob.spk), Header: hex.EncodeToString(raw)}
		if withOTK {
			c.OneTimePrekey = enc(bob.otks[0])
		}
		f.Cases = append(f.Cases, c)
	}
	respond("one_time_prekey_already_used", "unknown_one_time_prekey", now, false, func(*x3dh.Header) []byte { return nil })
	respond("unknown_signed_prekey", "unknown_signed_prekey", now, true, func(h *x3dh.Header) []byte { h.SignedPrekeyID = 8; return nil })
	respond("signed_prekey_past_grace", "expired_prekey", expires.Add(x3dh.SignedPrekeyGrace), true, func(*x3dh.Header) []byte { return nil })
	respond("low_order_ephemeral", "invalid_point", now, true, func(h *x3dh.Header) []byte { h.Ephemeral = lowOrder; return nil })
	respond("non_canonical_initiator_key", "invalid_point", now, true, func(h *x3dh.Header) []byte { h.Initiator.DH = nonCanonical; return nil })
	respond("initiator_signing_key_invalid", "invalid_signing_key", now, true, func(h *x3dh.Header) []byte {
		h.Initiator.Signing[0] = 0x04
		return nil
	})
	respond("header_bad_flag", "malformed", now, true, func(h *x3dh.Header) []byte {
		raw := must(h.MarshalBinary())
		raw[len(raw)-5] = 2
		return raw
	})
	respond("header_truncated", "malformed", now, true, func(h *x3dh.Header) []byte {
		raw := must(h.MarshalBinary())
		return raw[:len(raw)-1]
	})
	respond("header_version_0", "unsupported_version", now, true, func(h *x3dh.Header) []byte {
		raw := must(h.MarshalBinary())
		raw[0] = 0
		return raw
	})
	// Precedence when several checks fail (Respond: version, initiator IK, initiator signing
	// key, EK, signed prekey id, its expiry, one-time prekey id).
	respond("initiator_key_and_signing_key_invalid", "invalid_point", now, true, func(h *x3dh.Header) []byte {
		h.Initiator.DH = lowOrder
		h.Initiator.Signing[0] = 0x04
		return nil
	})
	respond("initiator_signing_key_and_ephemeral_invalid", "invalid_signing_key", now, true, func(h *x3dh.Header) []byte {
		h.Initiator.Signing[0] = 0x04
		h.Ephemeral = lowOrder
		return nil
	})
	respond("ephemeral_invalid_and_unknown_signed_prekey", "invalid_point", now, true, func(h *x3dh.Header) []byte {
		h.Ephemeral = nonCanonical
		h.SignedPrekeyID = 8
		return nil
	})
	respond("unknown_signed_and_one_time_prekey", "unknown_signed_prekey", now, false, func(h *x3dh.Header) []byte {
		h.SignedPrekeyID = 8
		return nil
	})
	respond("past_grace_and_unknown_one_time_prekey", "expired_prekey", expires.Add(x3dh.SignedPrekeyGrace), false,
		func(*x3dh.Header) []byte { return nil })
	respond("header_version_2_truncated", "unsupported_version", now, true, func(h *x3dh.Header) []byte {
		raw := must(h.MarshalBinary())
		raw[0] = 2
		return raw[:20]
	})
	return f
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	f := build()
	data, err := json.MarshalIndent(f, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(*out, "x3dh.json"), append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, errors.Join(errors.New("x3dh vectors"), err))
		os.Exit(1)
	}
}
