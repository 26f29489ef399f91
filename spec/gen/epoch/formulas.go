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
