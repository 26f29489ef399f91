package topics

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// KDF labels (HKDF-SHA256 info strings; the salt is empty).
const (
	labelGroup       = "chorus/v1/topics/group"
	labelInbox       = "chorus/v1/topics/inbox"
	labelAnnounce    = "chorus/v1/topics/announce"
	labelAnnounceKey = "chorus/v1/topics/announce-key"
)

// derive is HKDF-SHA256(ikm, salt = empty, info = label, n bytes).
func derive(ikm []byte, label string, n int) []byte {
	out, err := hkdf.Key(sha256.New, ikm, nil, label, n)
	if err != nil { // only for n > 255*32: a programming error
		panic("topics: " + err.Error())
	}
	return out
}

// partition maps ikm to [0, n) through HKDF(ikm, label) read as a big-endian uint64.
// The modulo bias is below n/2^64 (negligible).
func partition(ikm []byte, label string, n uint64) uint64 {
	return binary.BigEndian.Uint64(derive(ikm, label, 8)) % n
}

// GroupTopic returns the content topic of a group, derived from the group secret only
// (never from a chat id or a public key), so that an observer cannot tie the topic to a
// participant. With buckets == 0 every group has its own topic
// /chorus/1/g-<32 hex>/proto; with buckets > 0 the group lands on one of buckets shared
// topics /chorus/1/gb<buckets>-<index>/proto, trading bandwidth for a larger anonymity
// set. Every member must use the same buckets value.
//
// groupSecret should be a uniformly random secret of at least 32 bytes; the function
// hashes whatever it is given and never fails.
func GroupTopic(groupSecret []byte, buckets uint32) string {
	okm := derive(groupSecret, labelGroup, 24)
	if buckets == 0 {
		return ContentTopic("g-" + hex.EncodeToString(okm[:16]))
	}
	idx := binary.BigEndian.Uint64(okm[16:24]) % uint64(buckets)
	return ContentTopic("gb" + strconv.FormatUint(uint64(buckets), 10) + "-" + strconv.FormatUint(idx, 10))
}

// InboxTopic returns the inbox topic of an account: /chorus/1/inbox-<p>/proto with
// p = HKDF(accountPub, "chorus/v1/topics/inbox") mod InboxPartitions, so each inbox topic
// is shared by about 1/InboxPartitions of all accounts. accountPub is the 65-byte
// uncompressed secp256k1 key (0x04 || X || Y); other encodings give other topics.
func InboxTopic(accountPub []byte) string {
	return ContentTopic("inbox-" + strconv.FormatUint(partition(accountPub, labelInbox, InboxPartitions), 10))
}

// AnnounceTopic returns the topic on which an account's installations publish their
// encrypted announcements (bundles, device lists): /chorus/1/announce-<p>/proto with
// p = HKDF(accountPub, "chorus/v1/topics/announce") mod AnnouncePartitions. Like the
// inbox, it is shared by many accounts and does not name the account.
func AnnounceTopic(accountPub []byte) string {
	return ContentTopic("announce-" + strconv.FormatUint(partition(accountPub, labelAnnounce, AnnouncePartitions), 10))
}

// AnnounceKey returns the 32-byte symmetric key that encrypts an account's announcements:
// HKDF(accountPub, "chorus/v1/topics/announce-key"). Anyone who knows the account's
// public key can read them (contacts); nobody else can, and nobody can link an
// announcement to the account without the key (PRIV2).
func AnnounceKey(accountPub []byte) [32]byte {
	var k [32]byte
	copy(k[:], derive(accountPub, labelAnnounceKey, 32))
	return k
}
