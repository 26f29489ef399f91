package wire

import (
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"

	"github.com/chorus-im/chorus/devicelist"
)

// Multi-device formats (spec/README.md, ## protocol, "Multi-device").

// Bounds of the multi-device formats.
const (
	// PairingSecretSize is the size of a link code's pairing secret.
	PairingSecretSize = 16
	// MaxDeviceText bounds a device name or platform (bytes of UTF-8).
	MaxDeviceText = 64
	// MaxLinkContacts bounds the contacts one Link part may carry.
	MaxLinkContacts = MaxWelcomeItems
)

// LinkCode is what a new installation shows (as a QR code) to be linked to an account:
//
//	version(1) || pairing secret(16) || u8<platform> || u16<x3dh bundle without one-time prekeys>
type LinkCode struct {
	Secret   [PairingSecretSize]byte
	Platform string
	Bundle   []byte
}

// Marshal encodes c.
func (c *LinkCode) Marshal() ([]byte, error) {
	if len(c.Platform) > MaxDeviceText || !utf8.ValidString(c.Platform) {
		return nil, ErrTooLarge
	}
	var b cryptobyte.Builder
	b.AddUint8(Version)
	b.AddBytes(c.Secret[:])
	addVec8(&b, []byte(c.Platform))
	addVec16(&b, c.Bundle)
	return finish(&b)
}

// ParseLinkCode decodes a LinkCode (the bundle is not parsed).
func ParseLinkCode(in []byte) (*LinkCode, error) {
	s := cryptobyte.String(in)
	c := &LinkCode{}
	var v uint8
	var platform []byte
	if !s.ReadUint8(&v) || v != Version || !readFixed(&s, c.Secret[:]) || !readDeviceText(&s, &platform) ||
		!readVec16(&s, &c.Bundle) || !s.Empty() || len(c.Bundle) == 0 {
		return nil, ErrMalformed
	}
	c.Platform = string(platform)
	return c, nil
}

// DeviceInfo is an installation's metadata, sent only to the account's own installations:
//
//	id(16) || added u64 (unix ms) || u8<name> || u8<platform>
type DeviceInfo struct {
	ID       [16]byte
	Added    uint64
	Name     string
	Platform string
}

func (d *DeviceInfo) add(b *cryptobyte.Builder) {
	b.AddBytes(d.ID[:])
	b.AddUint64(d.Added)
	addVec8(b, []byte(d.Name))
	addVec8(b, []byte(d.Platform))
}

func (d *DeviceInfo) valid() bool {
	return len(d.Name) <= MaxDeviceText && len(d.Platform) <= MaxDeviceText && utf8.ValidString(d.Name) && utf8.ValidString(d.Platform)
}

func readDeviceText(s *cryptobyte.String, out *[]byte) bool {
	return readVec8(s, out) && len(*out) <= MaxDeviceText && utf8.Valid(*out)
}

func readDeviceInfo(s *cryptobyte.String, d *DeviceInfo) bool {
	var name, platform []byte
	if !readFixed(s, d.ID[:]) || !s.ReadUint64(&d.Added) || !readDeviceText(s, &name) || !readDeviceText(s, &platform) {
		return false
	}
	d.Name, d.Platform = string(name), string(platform)
	return true
}

func addDeviceInfos(b *cryptobyte.Builder, list []DeviceInfo) {
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {
		for i := range list {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { list[i].add(b) })
		}
	})
}

func readDeviceInfos(s *cryptobyte.String, out *[]DeviceInfo) bool {
	var list cryptobyte.String
	if !readU32Prefixed(s, &list) {
		return false
	}
	var items []DeviceInfo
	for !list.Empty() {
		var item cryptobyte.String
		var d DeviceInfo
		if len(items) >= devicelist.MaxEntries || !list.ReadUint16LengthPrefixed(&item) || !readDeviceInfo(&item, &d) || !item.Empty() {
			return false
		}
		items = append(items, d)
	}
	*out = items
	return true
}

func validInfos(list []DeviceInfo) bool {
	if len(list) > devicelist.MaxEntries {
		return false
	}
	for i := range list {
		if !list[i].valid() {
			return false
		}
	}
	return true
}

// LinkContact is a contact handed to a newly linked installation: whether it was added
// explicitly, and its device list.
type LinkContact struct {
	Added      bool
	DeviceList []byte
}

// Link is the body of a PairwiseLink message, sent by an account-key holder to the
// installation it links (one or more parts; each part repeats the pairing secret):
//
//	pairing secret(16) || part u16 || parts u16 || groups u32 ||
//	u32<list of u16<device info>> || u32<list of u16<added(1) || device list>>
type Link struct {
	Secret   [PairingSecretSize]byte
	Part     uint16
	Parts    uint16
	Groups   uint32
	Devices  []DeviceInfo
	Contacts []LinkContact
}

// Marshal encodes l.
func (l *Link) Marshal() ([]byte, error) {
	if !validInfos(l.Devices) || len(l.Contacts) > MaxLinkContacts || l.Part >= l.Parts {
		return nil, ErrTooLarge
	}
	for _, c := range l.Contacts {
		if len(c.DeviceList) == 0 {
			return nil, ErrMalformed
		}
	}
	var b cryptobyte.Builder
	b.AddBytes(l.Secret[:])
	b.AddUint16(l.Part)
	b.AddUint16(l.Parts)
	b.AddUint32(l.Groups)
	addDeviceInfos(&b, l.Devices)
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range l.Contacts {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(boolByte(c.Added))
				b.AddBytes(c.DeviceList)
			})
		}
	})
	return finish(&b)
}

// ParseLink decodes a Link body.
func ParseLink(in []byte) (*Link, error) {
	s := cryptobyte.String(in)
	l := &Link{}
	var contacts cryptobyte.String
	if !readFixed(&s, l.Secret[:]) || !s.ReadUint16(&l.Part) || !s.ReadUint16(&l.Parts) || l.Part >= l.Parts ||
		!s.ReadUint32(&l.Groups) || !readDeviceInfos(&s, &l.Devices) || !readU32Prefixed(&s, &contacts) || !s.Empty() {
		return nil, ErrMalformed
	}
	for !contacts.Empty() {
		var item cryptobyte.String
		var c LinkContact
		if len(l.Contacts) >= MaxLinkContacts || !contacts.ReadUint16LengthPrefixed(&item) || !readBool(&item, &c.Added) || item.Empty() {
			return nil, ErrMalformed
		}
		c.DeviceList = clone(item)
		l.Contacts = append(l.Contacts, c)
	}
	return l, nil
}

// Devices is the body of a PairwiseDevices message: an account's installations telling
// each other about their device list (the account-signed device list travels in the pairwise
// message's DeviceList field) and their metadata:
//
//	flags(1: bit0 groups notified) || u32<list of u16<device info>>
//
// "Groups notified" says the sender already announced the device list in every group of the
// account (and welcomed added installations into them); otherwise one receiving
// installation relays it (spec: "Relay").
type Devices struct {
	GroupsNotified bool
	Devices        []DeviceInfo
}

// Marshal encodes d.
func (d *Devices) Marshal() ([]byte, error) {
	if !validInfos(d.Devices) {
		return nil, ErrTooLarge
	}
	var b cryptobyte.Builder
	b.AddUint8(boolByte(d.GroupsNotified))
	addDeviceInfos(&b, d.Devices)
	return finish(&b)
}

// ParseDevices decodes a Devices body.
func ParseDevices(in []byte) (*Devices, error) {
	s := cryptobyte.String(in)
	d := &Devices{}
	if !readBool(&s, &d.GroupsNotified) || !readDeviceInfos(&s, &d.Devices) || !s.Empty() {
		return nil, ErrMalformed
	}
	return d, nil
}
