package app

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/chorus-im/chorus/protocol"
)

// QR form of contact and link codes. A code ("chorus1:" or "chorus-link1:" + base64url) is
// drawn as a QR code in a denser form: the prefix in upper case (QR alphanumeric mode) and
// the bytes as decimal digits (QR numeric mode, 3.3 bits per digit against 8 per base64
// character in byte mode), so a contact code fits 80 terminal columns. Every 7 bytes become
// 17 digits (zero-padded); a last group of k < 7 bytes becomes qrDigits[k] digits.
// `chorus contact add` and `chorus devices link` accept either form.
var qrDigits = [8]int{0, 3, 5, 8, 10, 13, 15, 17}

var qrPrefixes = []string{protocol.ContactCodePrefix, protocol.LinkCodePrefix}

// QRForm returns the QR form of code: its upper-case prefix and its digits ("" and false
// for text that is not a code).
func QRForm(code string) (prefix, digits string, ok bool) {
	for _, p := range qrPrefixes {
		rest, found := strings.CutPrefix(code, p)
		if !found {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(raw) == 0 {
			return "", "", false
		}
		var b strings.Builder
		for len(raw) > 0 {
			k := min(7, len(raw))
			n := new(big.Int).SetBytes(raw[:k])
			fmt.Fprintf(&b, "%0*s", qrDigits[k], n.String())
			raw = raw[k:]
		}
		return strings.ToUpper(p), b.String(), true
	}
	return "", "", false
}

// NormalizeCode turns the QR form of a code back into the code; other text is returned
// unchanged (the engine reports what is wrong with it).
func NormalizeCode(text string) (string, error) {
	for _, p := range qrPrefixes {
		digits, found := strings.CutPrefix(text, strings.ToUpper(p))
		if !found {
			continue
		}
		raw, err := qrBytes(digits)
		if err != nil {
			return "", err
		}
		return p + base64.RawURLEncoding.EncodeToString(raw), nil
	}
	return text, nil
}

var errQRDigits = errors.New("bad code: its digits do not decode")

func qrBytes(digits string) ([]byte, error) {
	var out []byte
	for len(digits) > 0 {
		n := min(17, len(digits))
		k := 7
		if n < 17 {
			k = -1
			for i, d := range qrDigits {
				if d == n {
					k = i
				}
			}
			if k <= 0 {
				return nil, errQRDigits
			}
		}
		v, ok := new(big.Int).SetString(digits[:n], 10)
		if !ok || v.Sign() < 0 || v.BitLen() > 8*k || strings.ContainsAny(digits[:n], "+-") {
			return nil, errQRDigits
		}
		out = append(out, v.FillBytes(make([]byte, k))...)
		digits = digits[n:]
	}
	if len(out) == 0 {
		return nil, errQRDigits
	}
	return out, nil
}
