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
	b, sl, err := parseKeyBlockHeader(data)
	if err != nil {
		return nil, err
	}
	// The pass ParseKeyBlockInto makes, keeping nothing but the number of slots and the
	// first invalid one (check's order: a truncation first, then the header, then slots).
	s := reader{b: sl}
	n, bad := 0, -1
	for s.left() > 0 && s.err == nil {
		s.bytes(HintSize)
		kind := s.u8()
		var hdr []byte
		switch kind {
		case SlotInitial:
			hdr = s.bytes(int(s.u16()))
		case SlotInitialCompact:
			hdr = s.bytes(int(s.u8()))
		}
		msg := s.bytes(int(s.u16()))
		if s.err == nil && bad < 0 && !validSlot(kind, hdr, msg) {
			bad = n
		}
		n++
	}
	if s.err != nil {
		return nil, s.err
	}
	b.view, b.enc, b.count = true, sl, n
	if err := b.check(); err != nil { // the header: b has no Slots
		return nil, err
	}
	if bad >= 0 {
		return nil, fmt.Errorf("%w: slot %d", ErrMalformed, bad)
	}
	if err := b.checkRekeyID(group); err != nil {
		return nil, err
	}
	return b, nil
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
	for p := b.enc; len(p) > 0; p = p[encodedSlotSize(p):] {
		dst = append(dst, p[:HintSize]...)
	}
	return dst
}

// findEncoded is Find over the encoded slots: only the slot found is decoded (its
// X3DH header and message alias the parsed data).
func (b *KeyBlock) findEncoded(h [HintSize]byte) (*Slot, bool) {
	for p := b.enc; len(p) > 0; p = p[encodedSlotSize(p):] {
		if [HintSize]byte(p[:HintSize]) != h {
			continue
		}
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
		return s, true
	}
	return nil, false
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
