package protocol

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"
)

// Safety numbers (spec "Safety numbers"): a short fingerprint of two accounts that both
// sides compute alike, to be compared over a channel the users trust (in person, a call).
// Matching numbers mean each side holds the other's real account key: no one substituted
// a contact code or an announcement.

const safetyNumberLabel = "chorus/v1/safety-number"

// SafetyNumber returns the safety number of accounts a and b (account ids, "0x04..."):
// 60 decimal digits, the same whichever order a and b are given in.
// FormatSafetyNumber groups it for display.
func SafetyNumber(a, b string) (string, error) {
	pa, err := accountPub(a)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnknownContact, err)
	}
	pb, err := accountPub(b)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnknownContact, err)
	}
	fa, fb := accountFingerprint(pa), accountFingerprint(pb)
	if fb < fa {
		fa, fb = fb, fa
	}
	return fa + fb, nil
}

// accountFingerprint is the 30-digit fingerprint of one account key (65-byte
// uncompressed secp256k1): h = SHA-512(0x0000 || label || key), then
// SafetyNumberIterations times h = SHA-512(h || key); the first 30 bytes of h as six
// 5-byte big-endian numbers, each mod 100000 as 5 digits.
func accountFingerprint(pub []byte) string {
	h := sha512.New()
	h.Write([]byte{0, 0})
	h.Write([]byte(safetyNumberLabel))
	h.Write(pub)
	sum := h.Sum(nil)
	for range SafetyNumberIterations {
		h.Reset()
		h.Write(sum)
		h.Write(pub)
		sum = h.Sum(sum[:0])
	}
	var b strings.Builder
	for i := range 6 {
		var chunk [8]byte
		copy(chunk[3:], sum[5*i:5*i+5])
		fmt.Fprintf(&b, "%05d", binary.BigEndian.Uint64(chunk[:])%100000)
	}
	return b.String()
}

// FormatSafetyNumber groups a safety number in blocks of five digits, four blocks a
// line.
func FormatSafetyNumber(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i += 5 {
		if i > 0 {
			if i%20 == 0 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(n[i:min(i+5, len(n))])
	}
	return b.String()
}

// SafetyNumber returns the safety number of our account and contact's.
func (c *Client) SafetyNumber(contact string) (string, error) {
	me, err := c.Account()
	if err != nil {
		return "", err
	}
	return SafetyNumber(me.ID, contact)
}
