package senderkeys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
)

// KDF labels and constants (spec/README.md, senderkeys: "Key schedule").
const (
	// chainMessageConst is the HMAC message deriving the message key of an iteration.
	chainMessageConst = 0x01
	// chainNextConst is the HMAC message deriving the next chain key.
	chainNextConst = 0x02

	// labelMessageKeys is the HKDF-Expand info turning a message key into AEAD key and nonce.
	labelMessageKeys = "chorus/v1/senderkeys/message-keys"
	// labelMessageSignature prefixes the digest a message signature covers.
	labelMessageSignature = "chorus/v1/senderkeys/message-signature"
	// labelDistributionSignature prefixes the digest a distribution signature covers.
	labelDistributionSignature = "chorus/v1/senderkeys/distribution-signature"

	keySize   = 32 // chain keys, message keys, AEAD keys
	nonceSize = 12 // ChaCha20-Poly1305 nonce
	tagSize   = 16 // Poly1305 tag
)

// sha256State layout of crypto/sha256's encoding.BinaryAppender output: a 4-byte magic,
// the eight chaining words (big-endian), the 64-byte buffer and the 8-byte length.
const (
	sha256StateMagic = "sha\x03"
	sha256StateSize  = 4 + 32 + 64 + 8

	ipad64 = 0x3636363636363636
	opad64 = 0x5c5c5c5c5c5c5c5c
)

// kdf derives chain and message keys. The chain step needs two HMAC-SHA256 computations
// under a fresh key per iteration; with crypto/hmac that is an allocating object per step,
// far too slow for a 2000-iteration forward jump. kdf computes the same HMAC values from
// SHA-256 block operations: it writes pre-padded final blocks and reads the chaining
// value through the digest's BinaryAppender (no Sum, no allocation), and reuses the
// ipad/opad midstates for the two messages of a step (6 compressions per step). If the
// digest's state encoding is not the one expected, it falls back to crypto/hmac; the
// results are identical either way (tested against crypto/hmac).
//
// A kdf is per-operation scratch space, not safe for concurrent use; callers clear it
// when done.
type kdf struct {
	h    hash.Hash
	app  encoding.BinaryAppender
	unm  encoding.BinaryUnmarshaler
	fast bool

	ipadBlock [64]byte                                  // key XOR ipad
	opadBlock [64]byte                                  // key XOR opad
	fin1      [64]byte                                  // padded final inner block for message 0x01
	fin2      [64]byte                                  // padded final inner block for message 0x02
	finO      [64]byte                                  // padded final outer block: inner hash || padding
	mid       [sha256StateSize]byte                     // saved midstate after the pad block
	out       [sha256StateSize]byte                     // state read-out buffer
	ipad      [sha256StateSize]byte                     // HKDF-Expand: midstate after key XOR ipad
	opad      [sha256StateSize]byte                     // HKDF-Expand: midstate after key XOR opad
	info1     [len(labelMessageKeys) + 1]byte           // info || 0x01
	info2     [keySize + len(labelMessageKeys) + 1]byte // T1 || info || 0x02
	inner     [2][32]byte
}

func newKDF() *kdf {
	h := sha256.New()
	k := &kdf{h: h}
	k.app, _ = h.(encoding.BinaryAppender)
	k.unm, _ = h.(encoding.BinaryUnmarshaler)
	if k.app != nil && k.unm != nil {
		st, err := k.app.AppendBinary(k.out[:0])
		// A fresh digest must encode the SHA-256 initial value in the expected layout.
		k.fast = err == nil && len(st) == sha256StateSize && string(st[:4]) == sha256StateMagic &&
			binary.BigEndian.Uint32(st[4:]) == 0x6a09e667 && binary.BigEndian.Uint32(st[32:]) == 0x5be0cd19
	}
	for i := range 64 {
		k.ipadBlock[i], k.opadBlock[i] = 0x36, 0x5c
	}
	// Inner message of one byte after the 64-byte pad block: 65 bytes in total.
	k.fin1[0], k.fin1[1] = chainMessageConst, 0x80
	binary.BigEndian.PutUint64(k.fin1[56:], (64+1)*8)
	k.fin2[0], k.fin2[1] = chainNextConst, 0x80
	binary.BigEndian.PutUint64(k.fin2[56:], (64+1)*8)
	// Outer message of 32 bytes after the 64-byte pad block: 96 bytes in total.
	k.finO[32] = 0x80
	binary.BigEndian.PutUint64(k.finO[56:], (64+32)*8)
	return k
}

// loadPad resets the hash and absorbs the block key XOR p (p = ipad 0x36 or opad 0x5c
// repeated); the last 32 bytes of each pad block are constant, preset by newKDF.
func (k *kdf) loadPad(key *[keySize]byte, pad *[64]byte, p uint64) {
	for i := 0; i < keySize; i += 8 {
		binary.LittleEndian.PutUint64(pad[i:], binary.LittleEndian.Uint64(key[i:])^p)
	}
	k.h.Reset()
	k.h.Write(pad[:])
}

// saveMid records the current midstate.
func (k *kdf) saveMid() []byte {
	st, _ := k.app.AppendBinary(k.mid[:0])
	return st
}

// restoreMid returns to a midstate recorded by saveMid.
func (k *kdf) restoreMid(st []byte) {
	if err := k.unm.UnmarshalBinary(st); err != nil {
		panic("senderkeys: sha256 midstate round trip failed") // impossible: checked in newKDF
	}
}

// final compresses one pre-padded final block and stores the digest in out.
func (k *kdf) final(block *[64]byte, out []byte) {
	k.h.Write(block[:])
	st, _ := k.app.AppendBinary(k.out[:0])
	copy(out, st[4:36])
}

// step computes mk = HMAC(chain, 0x01) (unless mk is nil) and replaces chain with
// HMAC(chain, 0x02).
func (k *kdf) step(chain *[keySize]byte, mk *[keySize]byte) {
	if !k.fast {
		k.stepSlow(chain, mk)
		return
	}
	k.loadPad(chain, &k.ipadBlock, ipad64)
	if mk != nil {
		mid := k.saveMid()
		k.final(&k.fin1, k.inner[0][:])
		k.restoreMid(mid)
	}
	k.final(&k.fin2, k.inner[1][:])
	k.loadPad(chain, &k.opadBlock, opad64)
	if mk != nil {
		mid := k.saveMid()
		copy(k.finO[:32], k.inner[0][:])
		k.final(&k.finO, mk[:])
		k.restoreMid(mid)
	}
	copy(k.finO[:32], k.inner[1][:])
	k.final(&k.finO, chain[:])
}

func (k *kdf) stepSlow(chain *[keySize]byte, mk *[keySize]byte) {
	m := hmac.New(sha256.New, chain[:])
	if mk != nil {
		m.Write([]byte{chainMessageConst})
		m.Sum(mk[:0])
		m.Reset()
	}
	m.Write([]byte{chainNextConst})
	m.Sum(chain[:0])
}

// messageKeys expands a message key into the AEAD key and nonce:
// HKDF-Expand(PRK = mk, info = labelMessageKeys, L = 44) (RFC 5869), that is
// T1 = HMAC(mk, info || 0x01), T2 = HMAC(mk, T1 || info || 0x02), key = T1,
// nonce = T2[:12]. The ipad/opad midstates are computed once for both blocks.
func (k *kdf) messageKeys(mk *[keySize]byte) (key [keySize]byte, nonce [nonceSize]byte) {
	// info1 = info || 0x01; info2 = T1 || info || 0x02.
	n := len(labelMessageKeys)
	copy(k.info1[:n], labelMessageKeys)
	k.info1[n] = 1
	info1 := k.info1[:]
	copy(k.info2[keySize:], labelMessageKeys)
	k.info2[keySize+n] = 2
	info2 := k.info2[:]

	var t2 [32]byte
	if !k.fast {
		m := hmac.New(sha256.New, mk[:])
		m.Write(info1)
		m.Sum(key[:0])
		copy(k.info2[:keySize], key[:])
		m.Reset()
		m.Write(info2)
		m.Sum(t2[:0])
	} else {
		k.loadPad(mk, &k.ipadBlock, ipad64)
		copy(k.ipad[:], k.saveMid())
		k.loadPad(mk, &k.opadBlock, opad64)
		copy(k.opad[:], k.saveMid())
		k.restoreMid(k.ipad[:])
		k.h.Write(info1)
		k.h.Sum(k.inner[0][:0])
		k.restoreMid(k.opad[:])
		k.h.Write(k.inner[0][:])
		k.h.Sum(key[:0])

		copy(k.info2[:keySize], key[:])
		k.restoreMid(k.ipad[:])
		k.h.Write(info2)
		k.h.Sum(k.inner[0][:0])
		k.restoreMid(k.opad[:])
		k.h.Write(k.inner[0][:])
		k.h.Sum(t2[:0])
	}
	copy(nonce[:], t2[:])
	wipe(t2[:])
	return key, nonce
}

// clear overwrites every buffer that held key material (best effort).
func (k *kdf) clear() {
	wipe(k.ipadBlock[:keySize])
	wipe(k.opadBlock[:keySize])
	wipe(k.finO[:32])
	wipe(k.mid[:])
	wipe(k.out[:])
	wipe(k.ipad[:])
	wipe(k.opad[:])
	wipe(k.info2[:keySize])
	wipe(k.inner[0][:])
	wipe(k.inner[1][:])
	k.h.Reset()
}
