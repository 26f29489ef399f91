package epoch

import (
	"encoding/binary"
	"fmt"
)

// ParseKeyBlockView is ParseKeyBlock that leaves the slots where they are in data: the
// result's Slots is nil, and Find, SlotCount and AppendHints read the encoded slots in
// place (MarshalBinary copies them). It accepts and refuses exactly what ParseKeyBlock
// does, with the same errors (FuzzParseKeyBlockView). A receiver needs only its own slot
// and the block's hints: at 1000 slots a parse materialised 72 KB of slots per key event
// received, allocated anew after each garbage collection (issue 13).
func ParseKeyBlockView(group ID, data []byte) (*KeyBlock, error) {
	b, _, err := parseKeyBlockView(group, data, nil, false)
	return b, err
}

// ParseKeyBlockViewHints is ParseKeyBlockView that, in the same pass over the encoded
// slots, appends their hints in slot order to hints[:0] (a buffer the caller lends, grown
// if it is too small) and returns it: the block refers to it, so AppendHints copies it and
// Find searches it instead of walking the encoded slots (issue 13: a receiver walked a
// 1000-slot block three times — the check, the hints, its own slot). The caller must not
// change the buffer while it uses the block.
func ParseKeyBlockViewHints(group ID, data, hints []byte) (*KeyBlock, []byte, error) {
	return parseKeyBlockView(group, data, hints[:0], true)
}

// errTruncated is the error of reader's first short read.
func errTruncated() error { return fmt.Errorf("%w: truncated", ErrMalformed) }

func parseKeyBlockView(group ID, data, hints []byte, keep bool) (*KeyBlock, []byte, error) {
	b, sl, err := parseKeyBlockHeader(data)
	if err != nil {
		return nil, nil, err
	}
	// The pass ParseKeyBlockInto makes, keeping nothing but the number of slots, the
	// first invalid one and (keep) the hints; check's order: a truncation first, then the
	// header, then slots. Read as reader reads the slots (hint, kind, a header's length
	// and bytes for the initial kinds, the message's length and bytes), without it.
	n, bad := 0, -1
	for p := sl; len(p) > 0; n++ {
		if len(p) < HintSize+1 {
			return nil, nil, errTruncated()
		}
		kind := p[HintSize]
		i, h := HintSize+1, 0 // i: the header's first byte, h its length
		switch kind {
		case SlotInitial:
			if len(p) < i+2 {
				return nil, nil, errTruncated()
			}
			h, i = int(binary.BigEndian.Uint16(p[i:])), i+2
		case SlotInitialCompact:
			if len(p) < i+1 {
				return nil, nil, errTruncated()
			}
			h, i = int(p[i]), i+1
		}
		if len(p)-i < h+2 {
			return nil, nil, errTruncated()
		}
		m := int(binary.BigEndian.Uint16(p[i+h:]))
		if len(p)-(i+h+2) < m {
			return nil, nil, errTruncated()
		}
		if bad < 0 && !validSlot(kind, p[i:i+h], p[i+h+2:i+h+2+m]) {
			bad = n
		}
		if keep {
			hints = append(hints, p[:HintSize]...)
		}
		p = p[i+h+2+m:]
	}
	b.view, b.enc, b.count = true, sl, n
	if keep {
		b.hints = hints
	}
	if err := b.check(); err != nil { // the header: b has no Slots
		return nil, nil, err
	}
	if bad >= 0 {
		return nil, nil, fmt.Errorf("%w: slot %d", ErrMalformed, bad)
	}
	if err := b.checkRekeyID(group); err != nil {
		return nil, nil, err
	}
	return b, hints, nil
}

// inPlace reports whether b's slots are read from its encoding (a view whose Slots were
// not set since).
func (b *KeyBlock) inPlace() bool { return b.view && b.Slots == nil }

// SlotCount returns the number of slots of b.
func (b *KeyBlock) SlotCount() int {
	if b.inPlace() {
		return b.count
	}
	return len(b.Slots)
}

// AppendHints appends the hints of b's slots, in their order, to dst (HintSize bytes
// each) and returns the result.
func (b *KeyBlock) AppendHints(dst []byte) []byte {
	if !b.inPlace() {
		for i := range b.Slots {
			dst = append(dst, b.Slots[i].Hint[:]...)
		}
		return dst
	}
	if b.hints != nil {
		return append(dst, b.hints...)
	}
	for p := b.enc; len(p) > 0; p = p[encodedSlotSize(p):] {
		dst = append(dst, p[:HintSize]...)
	}
	return dst
}

// findEncoded is Find over the encoded slots: only the slot found is decoded (its
// X3DH header and message alias the parsed data).
func (b *KeyBlock) findEncoded(h [HintSize]byte) (*Slot, bool) {
	if b.hints != nil {
		// The hints kept by the parse: searched where they lie together, then a walk
		// over the encoded slots' lengths to the one found.
		for i := 0; i+HintSize <= len(b.hints); i += HintSize {
			if [HintSize]byte(b.hints[i:]) == h {
				p := b.enc
				for range i / HintSize {
					p = p[encodedSlotSize(p):]
				}
				return decodeEncodedSlot(p, h), true
			}
		}
		return nil, false
	}
	for p := b.enc; len(p) > 0; p = p[encodedSlotSize(p):] {
		if [HintSize]byte(p[:HintSize]) == h {
			return decodeEncodedSlot(p, h), true
		}
	}
	return nil, false
}

// decodeEncodedSlot decodes the encoded slot p starts with, whose hint is h.
func decodeEncodedSlot(p []byte, h [HintSize]byte) *Slot {
	s := &Slot{Hint: h, Kind: p[HintSize]}
	q := p[HintSize+1:]
	switch s.Kind {
	case SlotInitial:
		n := int(binary.BigEndian.Uint16(q))
		s.X3DHHeader, q = q[2:2+n:2+n], q[2+n:]
	case SlotInitialCompact:
		n := int(q[0])
		s.X3DHHeader, q = q[1:1+n:1+n], q[1+n:]
	}
	n := int(binary.BigEndian.Uint16(q))
	s.Message = q[2 : 2+n : 2+n]
	return s
}

// encodedSlotSize returns the size of the slot p starts with (checked by
// ParseKeyBlockView).
func encodedSlotSize(p []byte) int {
	i := HintSize + 1
	switch p[HintSize] {
	case SlotInitial:
		i += 2 + int(binary.BigEndian.Uint16(p[i:]))
	case SlotInitialCompact:
		i += 1 + int(p[i])
	}
	return i + 2 + int(binary.BigEndian.Uint16(p[i:]))
}
