package protocol

import (
	"encoding/binary"
	"testing"
)

// TestJunkFilterBounded: the filter keeps at most two generations of JunkFilterSize
// hashes, forgets the oldest first, and is cleared when the number of keys changes.
func TestJunkFilterBounded(t *testing.T) {
	var f junkFilter
	h := func(i int) (out [32]byte) { binary.BigEndian.PutUint64(out[:], uint64(i)); return }
	n := 5 * JunkFilterSize
	for i := range n {
		f.add(h(i))
	}
	if got := len(f.cur) + len(f.old); got > 2*JunkFilterSize {
		t.Fatalf("%d hashes kept, want at most %d", got, 2*JunkFilterSize)
	}
	if f.has(h(0)) || !f.has(h(n-1)) || !f.has(h(n-JunkFilterSize)) {
		t.Fatal("the filter does not keep the newest hashes")
	}
	f.sync(3)
	if f.has(h(n - 1)) {
		t.Fatal("a new key count did not clear the filter")
	}
	f.add(h(1))
	f.sync(3)
	if !f.has(h(1)) {
		t.Fatal("an unchanged key count cleared the filter")
	}
}
