package protocol

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/wire"
)

// Code prefixes: a contact code is ContactCodePrefix + base64url-nopad(payload); a link
// code is LinkCodePrefix + base64url-nopad(link code). Apps that draw codes (as QR codes)
// use them; apps parse contact codes with ParseContactCode.
const (
	ContactCodePrefix = "chorus1:"
	LinkCodePrefix    = "chorus-link1:"
)

// ContactCode is a parsed contact code: the account it names, its device list (not
// verified: AddContact verifies the signatures) and the secret that opens the account's
// announcements (nil in a code of the first version, a bare device list).
type ContactCode struct {
	Account        string // "0x04..." account key
	DeviceList     []byte // devicelist encoding
	AnnounceSecret []byte
}

// ParseContactCode parses a contact code (surrounding spaces allowed), of either version:
// base64url of wire.ContactCode (0x02, announcement secret, the device list with its
// account key compressed) or of a bare device list (0x01…). Its errors wrap
// ErrBadContactCode.
func ParseContactCode(code string) (*ContactCode, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(code), ContactCodePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it starts with %s", ErrBadContactCode, ContactCodePrefix)
	}
	payload, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrBadContactCode)
	}
	raw, secret, err := parseContactCodePayload(payload)
	if err != nil {
		return nil, err
	}
	list, err := devicelist.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadContactCode, err)
	}
	if _, err := crypto.UnmarshalPubkey(list.Account[:]); err != nil {
		return nil, fmt.Errorf("%w: account key", ErrBadContactCode)
	}
	return &ContactCode{Account: devicelist.AccountID(list.Account), DeviceList: raw, AnnounceSecret: secret}, nil
}

// contactCodeHeader is the part of a device list a wire.ContactCode replaces: the version
// byte and the uncompressed account key.
const contactCodeHeader = 1 + devicelist.AccountKeySize

// contactCodePayload is a contact code's payload (wire.ContactCode): the secret and the
// device list with its account key compressed.
func contactCodePayload(secret, list []byte) ([]byte, error) {
	if len(list) <= contactCodeHeader || list[0] != devicelist.Version {
		return nil, ErrBadContactCode
	}
	pub, err := crypto.UnmarshalPubkey(list[1:contactCodeHeader])
	if err != nil {
		return nil, err
	}
	cc := &wire.ContactCode{Secret: [wire.AnnounceSecretSize]byte(secret), Account: [33]byte(crypto.CompressPubkey(pub)),
		Rest: list[contactCodeHeader:]}
	return cc.Marshal(), nil
}

// parseContactCodePayload returns the device list of a contact code's payload and the
// announcement secret it carries (nil for a code of the first version: a bare device
// list). The device list is rebuilt, not parsed.
func parseContactCodePayload(payload []byte) (list, secret []byte, err error) {
	if len(payload) > 0 && payload[0] == devicelist.Version {
		return payload, nil, nil
	}
	cc, err := wire.ParseContactCode(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadContactCode, err)
	}
	pub, err := crypto.DecompressPubkey(cc.Account[:])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: account key", ErrBadContactCode)
	}
	list = append(append([]byte{devicelist.Version}, crypto.FromECDSAPub(pub)...), cc.Rest...)
	return list, cc.Secret[:], nil
}
