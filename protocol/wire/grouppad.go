package wire

// Padding of v2 group payloads (spec: protocol, "Key schedule v2 (epochs)", **Padding**).
// A frame v2 is followed, inside the outer AEAD, by zero bytes up to the size that makes
// the whole payload (GroupOuterOverhead + frame) exactly a bucket of GroupBuckets (a
// key-block bucket for a frame with a key block). The frame's own length
// prefixes delimit it, so the padding needs no marker; ParseFrameV2 accepts only the
// canonical padding (all zero, exactly to the bucket).

// Group padding constants (specification constants).
const (
	// GroupOuterOverhead is the outer layer of a v2 group payload: version(1),
	// nonce(24), Poly1305 tag(16).
	GroupOuterOverhead = 1 + NonceSize + 16
	// GroupPadCap is the largest bucket: the publish limit (transport.MaxPayload).
	GroupPadCap = 149504
	// GroupKeyBlockMin is the smallest bucket of a payload that carries a key block.
	GroupKeyBlockMin = 1024
)

// GroupBuckets are the sizes a v2 group payload may have (ascending; the last is
// GroupPadCap): 384 to 2048 in steps of 128, powers of two from 4 KiB to 64 KiB, then
// steps of 16 KiB to 144 KiB, then the publish limit. A payload with a key block takes
// only the key-block buckets among them (KeyBlockBucket).
var GroupBuckets = groupBuckets()

func groupBuckets() []int {
	var b []int
	for n := 384; n <= 2048; n += 128 {
		b = append(b, n)
	}
	for n := 4096; n <= 64<<10; n <<= 1 {
		b = append(b, n)
	}
	for n := 80 << 10; n <= 144<<10; n += 16 << 10 {
		b = append(b, n)
	}
	return append(b, GroupPadCap)
}

// KeyBlockBucket reports whether bucket b is one a payload with a key block may take:
// at least GroupKeyBlockMin and a power of two, or above 64 KiB. Coarser than the others
// so that a key block's size tells the number of installations only to a factor of two.
func KeyBlockBucket(b int) bool {
	return b >= GroupKeyBlockMin && (b&(b-1) == 0 || b > 64<<10)
}

// GroupBucket returns the payload size of a v2 group payload whose unpadded size (outer
// layer included) is n: the smallest bucket ≥ n (a key-block bucket when keyBlock), or n
// itself beyond GroupPadCap (such a payload cannot be published anyway).
func GroupBucket(n int, keyBlock bool) int {
	for _, b := range GroupBuckets {
		if n <= b && (!keyBlock || KeyBlockBucket(b)) {
			return b
		}
	}
	return n
}

// paddedFrameSize is the padded size of a frame v2 of n unpadded bytes.
func paddedFrameSize(n int, keyBlock bool) int {
	return GroupBucket(n+GroupOuterOverhead, keyBlock) - GroupOuterOverhead
}
