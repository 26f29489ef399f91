package blake3cat

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"lukechampine.com/blake3"
)

// TestSum256: the hash of parts, through the buffer and in place, is blake3.Sum256 of
// their concatenation, for lengths
// around the chunk (1 KiB) and buffer (16 KiB) boundaries, empty parts, parts that split a
// buffer, and a buffer lying within one part; the parts are not modified.
func TestSum256(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 5*bufSize+3000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	orig := bytes.Clone(data)
	var lengths []int
	for _, base := range []int{0, 64, 1024, bufSize, 2 * bufSize, 3 * bufSize, 4 * bufSize} {
		for d := -65; d <= 65; d += 13 {
			if base+d >= 0 {
				lengths = append(lengths, base+d)
			}
		}
		lengths = append(lengths, base, base+1)
	}
	for range 60 {
		lengths = append(lengths, rng.IntN(len(data)))
	}
	var h Hasher
	checked := 0
	for _, n := range lengths {
		msg := data[:n]
		want := blake3.Sum256(msg)
		cuts := [][]int{nil, {0}, {n}, {min(2, n)}, {min(50, n)}, {n / 2}, {min(bufSize+7, n)}, {min(3, n), min(3, n), n / 2}}
		for range 4 {
			a, b := rng.IntN(n+1), rng.IntN(n+1)
			cuts = append(cuts, []int{min(a, b), max(a, b)})
		}
		for _, cut := range cuts {
			slices.Sort(cut)
			var parts [][]byte
			at := 0
			for _, c := range cut {
				parts = append(parts, msg[at:c])
				at = c
			}
			parts = append(parts, msg[at:])
			if got := h.Sum256(parts...); got != want {
				t.Fatalf("length %d cut at %v: %x, want %x", n, cut, got, want)
			}
			if got := h.Sum256InPlace(parts...); got != want {
				t.Fatalf("in place, length %d cut at %v: %x, want %x", n, cut, got, want)
			}
			checked++
		}
	}
	if got, want := h.Sum256InPlace(), blake3.Sum256(nil); got != want {
		t.Fatalf("no parts: %x, want %x", got, want)
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("the parts were modified")
	}
	t.Logf("%d messages checked", checked)
}

// TestSum256Allocs: a hash allocates nothing.
func TestSum256Allocs(t *testing.T) {
	var h Hasher
	prefix, body := []byte{0, 5, 'h', 'e', 'l', 'l', 'o'}, make([]byte, 150_000)
	if a := testing.AllocsPerRun(10, func() { h.Sum256(prefix, body); h.Sum256InPlace(prefix, body) }); a != 0 {
		t.Fatalf("%v allocations per hash", a)
	}
}

func BenchmarkSum256(b *testing.B) {
	prefix, body := make([]byte, 52), make([]byte, 150_000)
	b.Run("blake3cat", func(b *testing.B) {
		var h Hasher
		b.SetBytes(int64(len(prefix) + len(body)))
		for b.Loop() {
			h.Sum256(prefix, body)
		}
	})
	b.Run("blake3cat-in-place", func(b *testing.B) {
		var h Hasher
		b.SetBytes(int64(len(prefix) + len(body)))
		for b.Loop() {
			h.Sum256InPlace(prefix, body)
		}
	})
	b.Run("blake3.Hasher", func(b *testing.B) {
		h := blake3.New(32, nil)
		var out [32]byte
		b.SetBytes(int64(len(prefix) + len(body)))
		for b.Loop() {
			h.Reset()
			h.Write(prefix)
			h.Write(body)
			h.Sum(out[:0])
		}
	})
}
