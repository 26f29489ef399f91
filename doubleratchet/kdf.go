package doubleratchet

import (
	"crypto/sha256"
	"encoding/binary"
)

// The KDFs below are HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869)
// written over sha256.Sum256 so that the per-message path does not allocate;
// kdf_test.go checks them against crypto/hmac and crypto/hkdf.

const (
	blockSize  = 64  // SHA-256 block size
	maxHMACMsg = 128 // longest HMAC message used in this package
)

// hmacKey holds the two padded key blocks of HMAC-SHA256 for a 32-byte key,
// so that several MACs under one key share the padding work.
type hmacKey struct {
	ipad, opad [blockSize]byte
}

func newHMACKey(key *[32]byte) *hmacKey {
	k := new(hmacKey)
	const i64, o64 = 0x3636363636363636, 0x5c5c5c5c5c5c5c5c
	for i := 0; i < 32; i += 8 {
		w := binary.LittleEndian.Uint64(key[i:])
		binary.LittleEndian.PutUint64(k.ipad[i:], w^i64)
		binary.LittleEndian.PutUint64(k.opad[i:], w^o64)
	}
	for i := 32; i < blockSize; i += 8 {
		binary.LittleEndian.PutUint64(k.ipad[i:], i64)
		binary.LittleEndian.PutUint64(k.opad[i:], o64)
	}
	return k
}

// sum returns HMAC-SHA256(key, msg) for a message of at most maxHMACMsg bytes.
func (k *hmacKey) sum(msg []byte) [32]byte {
	if len(msg) > maxHMACMsg {
		panic("doubleratchet: internal HMAC message too long")
	}
	var inner [blockSize + maxHMACMsg]byte
	var outer [blockSize + sha256.Size]byte
	copy(inner[:], k.ipad[:])
	n := blockSize + copy(inner[blockSize:], msg)
	ih := sha256.Sum256(inner[:n])
	copy(outer[:], k.opad[:])
	copy(outer[blockSize:], ih[:])
	return sha256.Sum256(outer[:])
}

func (k *hmacKey) wipe() {
	clear(k.ipad[:])
	clear(k.opad[:])
}

// hmacSHA256 returns HMAC-SHA256(key, msg) for a 32-byte key and a message
// of at most maxHMACMsg bytes.
func hmacSHA256(key *[32]byte, msg []byte) [32]byte {
	k := newHMACKey(key)
	defer k.wipe()
	return k.sum(msg)
}

// hkdf2 returns the first 64 bytes of HKDF-SHA256(salt, ikm, info) as two
// 32-byte halves (T(1), T(2)). len(ikm) <= maxHMACMsg and
// len(info) <= maxHMACMsg-33.
func hkdf2(salt *[32]byte, ikm []byte, info string) (t1, t2 [32]byte) {
	prk := hmacSHA256(salt, ikm)
	k := newHMACKey(&prk)
	clear(prk[:])
	defer k.wipe()
	var m [maxHMACMsg]byte
	n := copy(m[:], info)
	m[n] = 1
	t1 = k.sum(m[:n+1])
	n = copy(m[:], t1[:])
	n += copy(m[n:], info)
	m[n] = 2
	t2 = k.sum(m[:n+1])
	clear(m[:])
	return t1, t2
}

// kdfRoot is KDF_RK: HKDF(salt = root key, ikm = DH output,
// info = labelRoot, 64 bytes) split into the new root key and a chain key.
func kdfRoot(rk *[32]byte, dhOut []byte) (newRoot, chain [32]byte) {
	return hkdf2(rk, dhOut, labelRoot)
}

// kdfChain is KDF_CK: message key HMAC(ck, 0x01), next chain key
// HMAC(ck, 0x02).
func kdfChain(ck *[32]byte) (mk, next [32]byte) {
	k := newHMACKey(ck)
	defer k.wipe()
	mk = k.sum([]byte{chainMessageConst})
	next = k.sum([]byte{chainNextConst})
	return mk, next
}

// messageKeys expands a message key into the AEAD key and nonce:
// HKDF(salt = 32 zero bytes, ikm = mk, info = labelMessageKey, 44 bytes) =
// key (32) || nonce (12).
func messageKeys(mk *[32]byte) (key [32]byte, nonce [12]byte) {
	var zero [32]byte
	t1, t2 := hkdf2(&zero, mk[:], labelMessageKey)
	copy(nonce[:], t2[:12])
	clear(t2[:])
	return t1, nonce
}
