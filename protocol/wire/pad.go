package wire

// Padding of inbox plaintexts (spec: protocol, "Pairwise messages (inbox)", **Padding**).
// The encoded pairwise message is padded inside the Double Ratchet encryption (so the
// padding is authenticated) to the size of its bucket: pt || 0x80 || 0x00…, where the
// bucket of n bytes of plaintext is the smallest of 256, 512, …, PadStep (powers of two),
// 2·PadStep, 3·PadStep, …, PadCap that holds n + 1 bytes; above PadCap the padding is the
// single 0x80 byte.

// Padding bounds (specification constants).
const (
	// PadMin is the smallest padded size.
	PadMin = 256
	// PadStep is the largest power-of-two bucket; larger buckets are its multiples.
	PadStep = 16 << 10
	// PadCap is the largest bucket (a padded inbox frame still fits one publish).
	PadCap = 128 << 10
)

// PaddedSize is the size of the padded form of n bytes of plaintext.
func PaddedSize(n int) int {
	m := n + 1
	switch {
	case m > PadCap:
		return m
	case m > PadStep:
		return (m + PadStep - 1) / PadStep * PadStep
	}
	b := PadMin
	for b < m {
		b <<= 1
	}
	return b
}

// PadInbox returns pt padded to its bucket (a new slice).
func PadInbox(pt []byte) []byte {
	out := make([]byte, PaddedSize(len(pt)))
	copy(out, pt)
	out[len(pt)] = 0x80
	return out
}

// UnpadInbox returns the plaintext of a padded inbox plaintext (a subslice of b). It
// refuses anything PadInbox does not produce: no 0x80 marker after the last non-zero byte,
// or a size that is not the bucket of the plaintext.
func UnpadInbox(b []byte) ([]byte, error) {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	if i < 0 || b[i] != 0x80 || PaddedSize(i) != len(b) {
		return nil, ErrMalformed
	}
	return b[:i], nil
}
