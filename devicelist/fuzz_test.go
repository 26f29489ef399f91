package devicelist

import (
	"bytes"
	"testing"
	"time"

	"github.com/chorus-im/chorus/spec"
)

// FuzzVerify: Parse never panics, returns nil with every error, and re-encodes what it
// accepts byte for byte; Verify never panics and returns nil with every error; Merge of
// what verifies never panics and leaves known unmodified. Seeded from the vectors.
func FuzzVerify(f *testing.F) {
	for _, name := range []string{"vectors/devices.json", "vectors/protocol.json"} {
		raw, err := spec.Vectors.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range hexStrings(raw) {
			if _, err := Parse(s); err == nil {
				f.Add(s)
			}
		}
	}
	f.Add([]byte{Version})
	f.Add(sample(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if (err == nil) == (l == nil) {
			t.Fatalf("Parse: list %v, err %v", l != nil, err)
		}
		if err == nil {
			again, err := l.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs: %v", err)
			}
		}
		v, err := Verify(b, time.Time{})
		if (err == nil) == (v == nil) {
			t.Fatalf("Verify: verified %v, err %v", v != nil, err)
		}
		if err != nil {
			return
		}
		known := map[[16]byte]Installation{}
		merged, d := Merge(known, v)
		active := 0
		for _, in := range merged {
			if !v.Bound[in.ID] {
				t.Fatalf("Merge into nothing took unbound %x", in.ID[:4])
			}
			if !in.Revoked {
				active++
			}
		}
		if len(known) != 0 || len(d.Added) != active || len(d.Revoked) != 0 {
			t.Fatalf("Merge into nothing: %d merged, %d active, delta %+v", len(merged), active, d)
		}
	})
}

// hexStrings returns every JSON string value of raw that is valid hex, decoded.
func hexStrings(raw []byte) [][]byte {
	var out [][]byte
	for _, part := range bytes.Split(raw, []byte{'"'}) {
		if len(part) < 2 || len(part)%2 != 0 {
			continue
		}
		b := make([]byte, len(part)/2)
		ok := true
		for i := range b {
			hi, lo := unhexDigit(part[2*i]), unhexDigit(part[2*i+1])
			if hi < 0 || lo < 0 {
				ok = false
				break
			}
			b[i] = byte(hi<<4 | lo)
		}
		if ok {
			out = append(out, b)
		}
	}
	return out
}

func unhexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}
