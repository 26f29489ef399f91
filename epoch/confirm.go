package epoch

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Confirmation returns the key confirmation of key event e of group with seed s (spec:
// "Key confirmation"): HMAC-SHA256(s, u8<"chorus/v2/epoch/confirmation"> || group || e).
// The key block of e carries it, so that every recipient checks that the seed in its slot
// is the one the author committed to in front of all of them.
func Confirmation(group ID, e ID, seed *Seed) [IDSize]byte {
	m := hmac.New(sha256.New, seed[:])
	var b [1 + len(labelConfirmation) + 2*IDSize]byte
	m.Write(append(append(appendLabel(b[:0], labelConfirmation), group[:]...), e[:]...))
	var c [IDSize]byte
	m.Sum(c[:0])
	return c
}

// Confirm sets the block's confirmation for seed, the event's seed. Call it before Context
// (the slot context binds the confirmation).
func (b *KeyBlock) Confirm(group ID, seed *Seed) { b.Confirmation = Confirmation(group, b.Event, seed) }

// Confirms reports, in constant time, whether seed is the seed the block's confirmation
// commits to. A recipient takes the seed of its slot only if it is.
func (b *KeyBlock) Confirms(group ID, seed *Seed) bool {
	c := Confirmation(group, b.Event, seed)
	return hmac.Equal(c[:], b.Confirmation[:])
}
