package protocol

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
)

// Code prefixes: a contact code is ContactCodePrefix + base64url-nopad(device list); a link
// code is LinkCodePrefix + base64url-nopad(link code). Apps that draw codes (as QR codes)
// use them; apps parse contact codes with ParseContactCode.
const (
	ContactCodePrefix = "chorus1:"
	LinkCodePrefix    = "chorus-link1:"
)

// ContactCode is a parsed contact code: the account it names and its device list, not
// verified (AddContact verifies the signatures).
type ContactCode struct {
	Account    string // "0x04..." account key
	DeviceList []byte // devicelist encoding
}

// ParseContactCode parses a contact code (surrounding spaces allowed). Its errors wrap
// ErrBadContactCode.
func ParseContactCode(code string) (*ContactCode, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(code), ContactCodePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it starts with %s", ErrBadContactCode, ContactCodePrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrBadContactCode)
	}
	list, err := devicelist.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadContactCode, err)
	}
	if _, err := crypto.UnmarshalPubkey(list.Account[:]); err != nil {
		return nil, fmt.Errorf("%w: account key", ErrBadContactCode)
	}
	return &ContactCode{Account: devicelist.AccountID(list.Account), DeviceList: raw}, nil
}
