// Package blake3cat computes BLAKE3-256 of a concatenation of byte slices, with one
// hasher state a caller lends (≈ 18 KB). lukechampine.com/blake3's Hasher copies every
// byte written into its 16 KiB buffer before compressing it; Sum256InPlace compresses
// every 16 KiB buffer of the message that lies within one slice where it is (only a
// buffer straddling two slices, and the last one, are copied). That suits data just
// written, in the cache (a key block's plaintext, hashed for its signature right after
// the outer open wrote it): the copy was a second pass over it. Data coming from memory
// (an envelope as received) is hashed faster through the buffer (Sum256): the copy
// streams it in order, where compressing in place reads 16 chunks 1 KiB apart at once
// (BenchmarkKeyEventReceive's profile, 300 receives: 423 samples in place against
// 335 for copy and compression).
package blake3cat

import (
	"math/bits"

	"lukechampine.com/blake3/guts"
)

// bufSize is the bytes compressed at once (guts.CompressBuffer's buffer).
const bufSize = guts.MaxSIMD * guts.ChunkSize

// Hasher holds the state of one Sum256 (≈ 18 KB: lend it, don't allocate it per hash).
// Its zero value is ready; it is not safe for concurrent use.
type Hasher struct {
	stack   [64 - (guts.MaxSIMD + 10)][8]uint32 // subtree roots, at most one per height
	counter uint64                              // buffers compressed; also which stack entries are held
	buf     [bufSize]byte
}

// Sum256 returns the unkeyed BLAKE3-256 hash of the concatenation of parts (the same as
// blake3.Sum256 of it), copying them through the hasher's buffer. It keeps no reference
// to parts.
func (h *Hasher) Sum256(parts ...[]byte) [32]byte { return h.sum(false, parts) }

// Sum256InPlace is Sum256 compressing the buffers that lie within one part where they
// are (for parts in the cache).
func (h *Hasher) Sum256InPlace(parts ...[]byte) [32]byte { return h.sum(true, parts) }

func (h *Hasher) sum(inPlace bool, parts [][]byte) (out [32]byte) {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	h.counter = 0
	pi, po := 0, 0 // the next byte: parts[pi][po]
	// Every buffer but the last is compressed and pushed (a buffer is only compressed
	// once more data follows it, as blake3.Hasher does: the last, even full, makes the root).
	for left := total; left > bufSize; left -= bufSize {
		for po == len(parts[pi]) {
			pi, po = pi+1, 0
		}
		var b *[bufSize]byte
		if inPlace && len(parts[pi])-po >= bufSize {
			b = (*[bufSize]byte)(parts[pi][po : po+bufSize])
			po += bufSize
		} else {
			for n := 0; n < bufSize; {
				c := copy(h.buf[n:], parts[pi][po:])
				n, po = n+c, po+c
				if po == len(parts[pi]) {
					pi, po = pi+1, 0
				}
			}
			b = &h.buf
		}
		h.push(guts.ChainingValue(guts.CompressBuffer(b, bufSize, &guts.IV, h.counter*guts.MaxSIMD, 0)))
	}
	n := 0
	for ; pi < len(parts); pi, po = pi+1, 0 {
		n += copy(h.buf[n:], parts[pi][po:])
	}
	root := guts.CompressBuffer(&h.buf, n, &guts.IV, h.counter*guts.MaxSIMD, 0)
	for i := bits.TrailingZeros64(h.counter); i < bits.Len64(h.counter); i++ {
		if h.counter&(1<<i) != 0 {
			root = guts.ParentNode(h.stack[i], guts.ChainingValue(root), &guts.IV, 0)
		}
	}
	root.Flags |= guts.FlagRoot
	w := guts.WordsToBytes(guts.CompressNode(root))
	copy(out[:], w[:])
	return out
}

// push adds the chaining value of the next buffer, merging the subtrees it completes.
func (h *Hasher) push(cv [8]uint32) {
	i := 0
	for h.counter&(1<<i) != 0 {
		cv = guts.ChainingValue(guts.ParentNode(h.stack[i], cv, &guts.IV, 0))
		i++
	}
	h.stack[i] = cv
	h.counter++
}
