package wire

import (
	"bytes"
	"testing"
)

// TestPaddedSize: the buckets of spec › Pairwise messages › Padding.
func TestPaddedSize(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 256}, {255, 256}, {256, 512}, {511, 512}, {512, 1024}, {1000, 1024}, {4095, 4096},
		{16383, 16384}, {16384, 32768}, {20000, 32768}, {32767, 32768}, {32768, 49152},
		{PadCap - 1, PadCap}, {PadCap, PadCap + 1}, {140000, 140001},
	} {
		if got := PaddedSize(c.n); got != c.want {
			t.Errorf("PaddedSize(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestPadRoundTrip: every length pads to its bucket and unpads to itself; the padding is
// strict (no marker, a non-zero byte after it, a wrong size: refused).
func TestPadRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100, 255, 256, 300, 4000, 16383, 16384, 50000, PadCap - 1, PadCap} {
		pt := bytes.Repeat([]byte{0x80}, n) // a plaintext ending like padding
		p := PadInbox(pt)
		if len(p) != PaddedSize(n) {
			t.Fatalf("%d: padded to %d", n, len(p))
		}
		got, err := UnpadInbox(p)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d: unpad %v", n, err)
		}
	}
	good := PadInbox([]byte("hello"))
	for name, b := range map[string][]byte{
		"empty":        {},
		"zeros":        make([]byte, 256),
		"no marker":    append([]byte("hello\x01"), make([]byte, 250)...),
		"short":        good[:255],
		"long":         append(append([]byte{}, good...), 0),
		"other bucket": append(append([]byte{}, good...), make([]byte, 256)...),
		"exact size":   append([]byte("hello"), 0x80),
	} {
		if _, err := UnpadInbox(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzUnpadInbox: UnpadInbox never panics and accepts exactly what PadInbox produces.
func FuzzUnpadInbox(f *testing.F) {
	f.Add(PadInbox([]byte("hello")))
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, err := UnpadInbox(in)
		if err != nil {
			return
		}
		if !bytes.Equal(PadInbox(pt), in) {
			t.Fatalf("unpad→pad differs: %d bytes", len(in))
		}
	})
}
