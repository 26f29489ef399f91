package wire

import (
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
)

// Contact sync and announcement secrets (spec/README.md, ## protocol, "Identities",
// "Announcement", and "Multi-device", "Contact sync").

// Bounds of the contact formats.
const (
	// AnnounceSecretSize is the size of an account's announcement secret.
	AnnounceSecretSize = 32
	// AccountKeySize is the size of an account key (uncompressed secp256k1).
	AccountKeySize = 65
	// MaxContactName bounds a contact's local name (bytes of UTF-8).
	MaxContactName = 64
	// MaxSyncContacts bounds the entries of one ContactSync.
	MaxSyncContacts = MaxWelcomeItems
	// ContactCodeVersion is the first byte of a contact code carrying an announcement
	// secret (a bare device list starts with Version).
	ContactCodeVersion = 2
)

// Flags of a ContactSync and of its entries.
const (
	syncHasSecret     = 0x01 // ContactSync: the account's announcement secret follows
	entryAdded        = 0x01
	entryHasSecret    = 0x02
	entryHasList      = 0x04
	entryDefinedFlags = entryAdded | entryHasSecret | entryHasList
)

// SyncContact is one contact in a ContactSync: the account key, whether it was added
// explicitly, its local name with the name's Lamport clock (a name is replaced by one
// with a higher clock; equal clocks keep the bytewise greater name), the contact's
// announcement secret if known, and optionally its device list.
type SyncContact struct {
	Account    [AccountKeySize]byte
	Added      bool
	NameClock  uint64
	Name       string
	Secret     []byte // nil or AnnounceSecretSize bytes
	DeviceList []byte // nil or a device list
}

// ContactSync is the body of a PairwiseContacts message, sent only between the
// installations of one account:
//
//	version(1) || flags(1: bit0 secret) || [announcement secret(32)] ||
//	u32<list of u16<entry>>
//	entry = account(65) || flags(1: bit0 added, bit1 secret, bit2 device list) ||
//	        name clock u64 || u8<name> || [secret(32)] || [u16<device list>]
type ContactSync struct {
	Secret   []byte // the account's own announcement secret (nil if absent)
	Contacts []SyncContact
}

// Marshal encodes s.
func (s *ContactSync) Marshal() ([]byte, error) {
	if len(s.Contacts) > MaxSyncContacts || (s.Secret != nil && len(s.Secret) != AnnounceSecretSize) {
		return nil, ErrTooLarge
	}
	var b cryptobyte.Builder
	b.AddUint8(Version)
	if s.Secret != nil {
		b.AddUint8(syncHasSecret)
		b.AddBytes(s.Secret)
	} else {
		b.AddUint8(0)
	}
	for i := range s.Contacts {
		c := &s.Contacts[i]
		if len(c.Name) > MaxContactName || !utf8.ValidString(c.Name) || (c.Secret != nil && len(c.Secret) != AnnounceSecretSize) ||
			(c.DeviceList != nil && (len(c.DeviceList) == 0 || len(c.DeviceList) > 0xffff)) {
			return nil, ErrTooLarge
		}
	}
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {
		for i := range s.Contacts {
			c := &s.Contacts[i]
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddBytes(c.Account[:])
				var f uint8
				if c.Added {
					f |= entryAdded
				}
				if c.Secret != nil {
					f |= entryHasSecret
				}
				if c.DeviceList != nil {
					f |= entryHasList
				}
				b.AddUint8(f)
				b.AddUint64(c.NameClock)
				addVec8(b, []byte(c.Name))
				if c.Secret != nil {
					b.AddBytes(c.Secret)
				}
				if c.DeviceList != nil {
					addVec16(b, c.DeviceList)
				}
			})
		}
	})
	return finish(&b)
}

// ParseContactSync decodes a ContactSync.
func ParseContactSync(in []byte) (*ContactSync, error) {
	s := cryptobyte.String(in)
	out := &ContactSync{}
	var v, flags uint8
	if !s.ReadUint8(&v) || v != Version || !s.ReadUint8(&flags) || flags&^syncHasSecret != 0 {
		return nil, ErrMalformed
	}
	if flags&syncHasSecret != 0 {
		out.Secret = make([]byte, AnnounceSecretSize)
		if !readFixed(&s, out.Secret) {
			return nil, ErrMalformed
		}
	}
	var list cryptobyte.String
	if !readU32Prefixed(&s, &list) || !s.Empty() {
		return nil, ErrMalformed
	}
	for !list.Empty() {
		var item cryptobyte.String
		var c SyncContact
		var f uint8
		var name []byte
		if len(out.Contacts) >= MaxSyncContacts || !list.ReadUint16LengthPrefixed(&item) || !readFixed(&item, c.Account[:]) ||
			!item.ReadUint8(&f) || f&^entryDefinedFlags != 0 || !item.ReadUint64(&c.NameClock) || !readVec8(&item, &name) ||
			len(name) > MaxContactName || !utf8.Valid(name) {
			return nil, ErrMalformed
		}
		c.Added, c.Name = f&entryAdded != 0, string(name)
		if f&entryHasSecret != 0 {
			c.Secret = make([]byte, AnnounceSecretSize)
			if !readFixed(&item, c.Secret) {
				return nil, ErrMalformed
			}
		}
		if f&entryHasList != 0 && (!readVec16(&item, &c.DeviceList) || len(c.DeviceList) == 0) {
			return nil, ErrMalformed
		}
		if !item.Empty() {
			return nil, ErrMalformed
		}
		out.Contacts = append(out.Contacts, c)
	}
	return out, nil
}

// AnnounceKey is the body of a PairwiseAnnounceKey message: an account giving a contact
// the secret that opens its announcements:
//
//	version(1) || announcement secret(32)
type AnnounceKey struct {
	Secret [AnnounceSecretSize]byte
}

// Marshal encodes k.
func (k *AnnounceKey) Marshal() []byte {
	return append([]byte{Version}, k.Secret[:]...)
}

// ParseAnnounceKey decodes an AnnounceKey.
func ParseAnnounceKey(in []byte) (*AnnounceKey, error) {
	if len(in) != 1+AnnounceSecretSize || in[0] != Version {
		return nil, ErrMalformed
	}
	k := &AnnounceKey{}
	copy(k.Secret[:], in[1:])
	return k, nil
}

// ContactCode is the payload of a contact code that carries the account's announcement
// secret (a code made before announcement secrets is a bare device list, starting with
// Version). To keep the code's QR form within 80 columns the device list's account key
// travels compressed:
//
//	0x02 || announcement secret(32) || account key, compressed (33) || list[66:]
//
// where list[66:] is the device list after its version byte and 65-byte account key; the
// reader rebuilds the list (0x01 || uncompressed key || list[66:]) and parses it.
type ContactCode struct {
	Secret  [AnnounceSecretSize]byte
	Account [33]byte
	Rest    []byte
}

// Marshal encodes c.
func (c *ContactCode) Marshal() []byte {
	out := make([]byte, 0, 1+AnnounceSecretSize+33+len(c.Rest))
	out = append(out, ContactCodeVersion)
	out = append(out, c.Secret[:]...)
	out = append(out, c.Account[:]...)
	return append(out, c.Rest...)
}

// ParseContactCode decodes a ContactCode (the list is not rebuilt or parsed here: that
// needs the account key decompressed).
func ParseContactCode(in []byte) (*ContactCode, error) {
	if len(in) < 1+AnnounceSecretSize+33+1 || in[0] != ContactCodeVersion {
		return nil, ErrMalformed
	}
	c := &ContactCode{}
	copy(c.Secret[:], in[1:])
	copy(c.Account[:], in[1+AnnounceSecretSize:])
	if c.Account[0] != 2 && c.Account[0] != 3 {
		return nil, ErrMalformed
	}
	c.Rest = clone(in[1+AnnounceSecretSize+33:])
	return c, nil
}

// AnnounceBuckets are the sizes an announcement's padded plaintext may have
// (spec: "Announcement"): u32(len list) || list || zeros, in the smallest that holds it.
var AnnounceBuckets = []int{8192, 16384, 32768}

// PadAnnounce returns u32(len(list)) || list || zero bytes up to the smallest of
// AnnounceBuckets that holds it, or ErrTooLarge.
func PadAnnounce(list []byte) ([]byte, error) {
	n := 4 + len(list)
	for _, size := range AnnounceBuckets {
		if n <= size {
			out := make([]byte, size)
			out[0], out[1], out[2], out[3] = byte(len(list)>>24), byte(len(list)>>16), byte(len(list)>>8), byte(len(list))
			copy(out[4:], list)
			return out, nil
		}
	}
	return nil, ErrTooLarge
}

// UnpadAnnounce reverses PadAnnounce: the length must fit, the padding be zero and the
// total one of AnnounceBuckets.
func UnpadAnnounce(in []byte) ([]byte, error) {
	prev := -1
	for i, size := range AnnounceBuckets {
		if len(in) == size {
			prev = 0
			if i > 0 {
				prev = AnnounceBuckets[i-1]
			}
		}
	}
	if prev < 0 {
		return nil, ErrMalformed
	}
	n := int(in[0])<<24 | int(in[1])<<16 | int(in[2])<<8 | int(in[3])
	if n > len(in)-4 || n == 0 || 4+n <= prev { // the smallest bucket that holds it
		return nil, ErrMalformed
	}
	for _, b := range in[4+n:] {
		if b != 0 {
			return nil, ErrMalformed
		}
	}
	return clone(in[4 : 4+n]), nil
}
