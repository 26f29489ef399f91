package membership

import (
	"bytes"
	"encoding/hex"

	"google.golang.org/protobuf/encoding/protowire"
)

// A compact payload holds an event payload with its member entries as 65-byte keys and
// gives back the exact signed bytes on demand (issue 16: at 1000 × 1 the hex member ids of
// the held log were 137 of a client's 342 KiB of heap). Events parsed or signed by this
// package hold their payload so when they can (entry, event.go), and their Members share
// its keys.

// keyLength is the length of a member key: 04 || X || Y.
const keyLength = 65

// memberEntryLength is the length of a canonical member entry of a MembershipUpdateEvent
// payload: field 2's tag (0x12), the length 132 as a minimal varint (0x84 0x01), then
// PublicKeyString's form of the key ("0x" and 130 lowercase hex digits).
const memberEntryLength = 3 + PublicKeyStringLength

// memberEntryPrefix is a canonical member entry's first five bytes.
var memberEntryPrefix = [...]byte{0x12, 0x84, 0x01, '0', 'x'}

// compactPayload is an event payload whose member entries are one contiguous run of
// canonical entries, held as their keys: the payload is head, the entry of each key in
// order, then tail. It holds 65 bytes a member instead of the entry's 135.
type compactPayload struct {
	head, tail []byte
	keys       []byte // n × keyLength
}

// compactOf returns payload in compact form (copies: payload is not retained). ok is false
// when the payload does not decode as protobuf fields, lists no member, or its member
// entries are not one contiguous run of canonical entries (another spelling of a key, an
// upper-case digit, a non-minimal length, fields between members): such a payload is held
// as it is.
func compactOf(payload []byte) (c compactPayload, ok bool) {
	c, _, ok = compactWith(nil, payload)
	return c, ok
}

// compactWith is compactOf that also copies prefix (an entry's signature) into the
// block, at its start: pre.
func compactWith(prefix, payload []byte) (c compactPayload, pre []byte, ok bool) {
	start, end, n := -1, -1, 0
	for b := payload; len(b) > 0; {
		at := len(payload) - len(b)
		num, typ, tn := protowire.ConsumeTag(b)
		if tn < 0 {
			return compactPayload{}, nil, false
		}
		vn := protowire.ConsumeFieldValue(num, typ, b[tn:])
		if vn < 0 {
			return compactPayload{}, nil, false
		}
		if num == fieldMembers {
			if start >= 0 && at != end || !canonicalEntry(b[:tn+vn]) {
				return compactPayload{}, nil, false
			}
			if start < 0 {
				start = at
			}
			end, n = at+tn+vn, n+1
		}
		b = b[tn+vn:]
	}
	if n == 0 {
		return compactPayload{}, nil, false
	}
	block := make([]byte, len(prefix)+start+len(payload)-end+n*keyLength) // one block: prefix, head, tail, keys
	pre = block[:copy(block, prefix):len(prefix)]
	buf := block[len(prefix):]
	copy(buf, payload[:start])
	copy(buf[start:], payload[end:])
	c.head = buf[:start:start]
	c.tail = buf[start : start+len(payload)-end : start+len(payload)-end]
	c.keys = buf[start+len(payload)-end:]
	for i := range n {
		entry := payload[start+i*memberEntryLength+len(memberEntryPrefix) : start+(i+1)*memberEntryLength]
		if !decodeLowerHex(c.keys[i*keyLength:(i+1)*keyLength], entry) {
			return compactPayload{}, nil, false
		}
	}
	return c, pre, true
}

// canonicalEntry reports whether e has the framing of a canonical member entry (its digits
// are checked as they are decoded).
func canonicalEntry(e []byte) bool {
	return len(e) == memberEntryLength && bytes.HasPrefix(e, memberEntryPrefix[:])
}

// decodeLowerHex decodes src (2 × len(dst) lowercase hex digits) into dst; false: another byte.
func decodeLowerHex(dst, src []byte) bool {
	var bad byte
	for i := range dst {
		hi, lo := lowerHex[src[2*i]], lowerHex[src[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo&0x0f
	}
	return bad&0xf0 == 0
}

// lowerHex maps a lowercase hex digit to its value and any other byte to 0xff.
var lowerHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, d := range "0123456789abcdef" {
		t[d] = byte(i)
	}
	return t
}()

// members returns the number of members.
func (c *compactPayload) members() int { return len(c.keys) / keyLength }

// key returns member i's key (shared: not to be modified).
func (c *compactPayload) key(i int) []byte {
	return c.keys[i*keyLength : (i+1)*keyLength : (i+1)*keyLength]
}

// member returns member i's id (PublicKeyString's form).
func (c *compactPayload) member(i int) string { return keyString(c.key(i)) }

// size returns the length of the payload.
func (c *compactPayload) size() int { return len(c.head) + c.members()*memberEntryLength + len(c.tail) }

// appendPayload appends the payload, byte for byte the one compactOf was given.
func (c *compactPayload) appendPayload(dst []byte) []byte {
	dst = append(dst, c.head...)
	for i := range c.members() {
		dst = append(dst, memberEntryPrefix[:]...)
		dst = hex.AppendEncode(dst, c.key(i))
	}
	return append(dst, c.tail...)
}
