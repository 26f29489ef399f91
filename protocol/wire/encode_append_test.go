package wire

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// TestPlaintextEncodingAppend: the group plaintexts (v1 and v2), encoded by appending into
// one buffer, are byte for byte their cryptobyte definition, and a history longer than its
// u8 prefix is refused as before.
func TestPlaintextEncodingAppend(t *testing.T) {
	ref := func(version uint8, clock, ts uint64, typ ContentType, body []byte, hist [][]byte) ([]byte, error) {
		var b cryptobyte.Builder
		b.AddUint8(version)
		b.AddUint64(clock)
		b.AddUint64(ts)
		b.AddUint8(uint8(typ))
		addVec32(&b, body)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range hist {
				b.AddBytes(e)
			}
		})
		return b.Bytes()
	}
	for _, n := range []int{0, 1, 5, 7, 8, MaxHistory} {
		for _, size := range []int{0, 100, 70000} {
			body := bytes.Repeat([]byte{byte(size)}, size)
			v1 := &GroupPlaintext{Clock: 1 << 40, Timestamp: 12345, Type: ContentText, Body: body}
			v2 := &GroupPlaintextV2{Clock: 7, Timestamp: 1 << 50, Type: ContentDevices, Body: body}
			var h1, h2 [][]byte
			for i := range n {
				var e [HistoryEntrySize]byte
				var s [ShortEntrySize]byte
				e[0], s[0] = byte(i), byte(i+1)
				v1.History, v2.History = append(v1.History, e), append(v2.History, s)
				h1, h2 = append(h1, bytes.Clone(e[:])), append(h2, bytes.Clone(s[:]))
			}
			for _, c := range []struct {
				name    string
				got     func() ([]byte, error)
				version uint8
				p       *GroupPlaintext
				entries [][]byte
			}{
				{"v1", v1.Marshal, Version, v1, h1},
				{"v2", v2.Marshal, Version2, &GroupPlaintext{Clock: v2.Clock, Timestamp: v2.Timestamp, Type: v2.Type}, h2},
			} {
				got, err := c.got()
				want, werr := ref(c.version, c.p.Clock, c.p.Timestamp, c.p.Type, body, c.entries)
				if werr != nil {
					if !errors.Is(err, ErrTooLarge) {
						t.Errorf("%s, %d entries: %v, want ErrTooLarge", c.name, n, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s, %d entries, body %d: encoding differs from its definition (%v)", c.name, n, size, err)
				}
			}
		}
	}
}
