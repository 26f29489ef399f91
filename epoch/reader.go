package epoch

import (
	"encoding/binary"
	"fmt"
)

// reader decodes fixed fields; the first short read sets err (ErrMalformed) and every later
// read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) left() int { return len(r.b) }

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrMalformed)
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) id() (v ID) {
	copy(v[:], r.bytes(IDSize))
	return v
}

func (r *reader) installation() (v Installation) {
	copy(v[:], r.bytes(InstallationSize))
	return v
}

// ids reads u8 n || n ids, canonical (strictly ascending, n ≤ MaxFrontier).
func (r *reader) ids() Frontier {
	n := int(r.u8())
	if r.err != nil {
		return nil
	}
	if n > MaxFrontier {
		r.err = fmt.Errorf("%w: %d ids (max %d)", ErrMalformed, n, MaxFrontier)
		return nil
	}
	f := make(Frontier, 0, n)
	for range n {
		f = append(f, r.id())
	}
	if r.err == nil && !f.valid() {
		r.err = fmt.Errorf("%w: ids not strictly ascending", ErrMalformed)
	}
	if r.err != nil {
		return nil
	}
	return f
}
