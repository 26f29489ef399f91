package main

// The specification's formulas computed directly (crypto/hkdf and crypto/hmac, not package
// epoch): the generator checks the package's results against them.

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"

	"github.com/chorus-im/chorus/epoch"
)

// independent computes ES(F) from the specification's formulas.
func independent(group epoch.ID, f epoch.Frontier, xs [][32]byte) (eid, es [32]byte) {
	var b []byte
	label := "chorus/v2/epoch/epoch-id"
	b = append(b, byte(len(label)))
	b = append(b, label...)
	b = append(b, group[:]...)
	b = append(b, byte(len(f)))
	for _, id := range f {
		b = append(b, id[:]...)
	}
	eid = sha256.Sum256(b)
	var ikm []byte
	for _, x := range xs {
		ikm = append(ikm, x[:]...)
	}
	copy(es[:], must(hkdf.Key(sha256.New, ikm, eid[:], "chorus/v2/epoch/epoch-secret", 32)))
	return eid, es
}

func independentX(seed epoch.Seed, e epoch.ID, eid [32]byte) (x [32]byte) {
	m := hmac.New(sha256.New, seed[:])
	label := "chorus/v2/epoch/contribution"
	m.Write(append([]byte{byte(len(label))}, label...))
	m.Write(e[:])
	m.Write(eid[:])
	copy(x[:], m.Sum(nil))
	return x
}

func expandSpec(prk [32]byte, info string) (out [32]byte) {
	copy(out[:], must(hkdf.Expand(sha256.New, prk[:], info, 32)))
	return out
}

func hmacSpec(key, msg []byte) (out [32]byte) {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	copy(out[:], m.Sum(nil))
	return out
}

// rekeyIDSpec is the rekey id of a key block of version 4 (committing to its prev).
func rekeyIDSpec(group epoch.ID, author epoch.Installation, nonce [16]byte, prev epoch.Frontier) epoch.ID {
	label := "chorus/v2/epoch/rekey-prev-id"
	b := append([]byte{byte(len(label))}, label...)
	b = append(append(append(b, group[:]...), author[:]...), nonce[:]...)
	b = append(b, byte(len(prev)))
	for _, p := range prev {
		b = append(b, p[:]...)
	}
	return sha256.Sum256(b)
}

// rekeyHeadsIDSpec is the rekey id of a key block of version 5 (committing to its prev and
// its membership heads).
func rekeyHeadsIDSpec(group epoch.ID, author epoch.Installation, nonce [16]byte, prev, heads epoch.Frontier) epoch.ID {
	label := "chorus/v2/epoch/rekey-heads-id"
	b := append([]byte{byte(len(label))}, label...)
	b = append(append(append(b, group[:]...), author[:]...), nonce[:]...)
	for _, ids := range []epoch.Frontier{prev, heads} {
		b = append(b, byte(len(ids)))
		for _, p := range ids {
			b = append(b, p[:]...)
		}
	}
	return sha256.Sum256(b)
}

// legacyRekeyIDSpec is the rekey id of a key block of version 3 or 2.
func legacyRekeyIDSpec(group epoch.ID, author epoch.Installation, nonce [16]byte) epoch.ID {
	label := "chorus/v2/epoch/rekey-id"
	b := append([]byte{byte(len(label))}, label...)
	return sha256.Sum256(append(append(append(b, group[:]...), author[:]...), nonce[:]...))
}

// memberPrevDigestSpec is the epoch prev digest of a membership key event's prev set.
func memberPrevDigestSpec(prev epoch.Frontier) [32]byte {
	label := "chorus/v2/epoch/member-prev"
	b := append([]byte{byte(len(label))}, label...)
	b = append(b, byte(len(prev)))
	for _, id := range prev {
		b = append(b, id[:]...)
	}
	return sha256.Sum256(b)
}
