package epoch

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// Slot is one recipient's slot of a key block: a pairwise Double Ratchet message (and, for
// an initial slot, the X3DH header that starts the session) carrying a seed slot plaintext.
type Slot struct {
	Hint [HintSize]byte
	Kind byte // SlotSession, SlotInitial or SlotInitialCompact
	// X3DHHeader is the X3DH header: in full for SlotInitial, in compact form (without its
	// initiator identity) for SlotInitialCompact; empty for SlotSession.
	X3DHHeader []byte
	Message    []byte // the Double Ratchet message
}

// maxCompactHeader bounds a compact X3DH header (u8 length prefix).
const maxCompactHeader = math.MaxUint8

// size returns the encoded size of the slot.
func (s *Slot) size() int {
	n := HintSize + 1 + 2 + len(s.Message)
	switch s.Kind {
	case SlotInitial:
		n += 2 + len(s.X3DHHeader)
	case SlotInitialCompact:
		n += 1 + len(s.X3DHHeader)
	}
	return n
}

// KeyBlock is one part of the rotation block of a key event (spec: "Rotation block").
type KeyBlock struct {
	Kind   byte // KindMembership or KindRekey
	Author Installation
	Event  ID
	Nonce  [NonceSize]byte // KindRekey only
	Prev   Frontier        // the author's frontier before the event; empty only for creation
	// Heads (KindRekey, version BlockVersion only) are the membership heads its author had
	// applied (ids of causal membership events; none without causal membership), which
	// its id commits to (spec "Authority").
	Heads Frontier
	// Confirmation commits to the event's seed (Confirmation; spec "Key confirmation"): a
	// recipient takes the seed of its slot only if Confirms it. Set by Confirm.
	Confirmation [IDSize]byte
	Part         uint16
	Parts        uint16
	// Slots are the slots, nil in a block parsed by ParseKeyBlockView (read them with
	// Find, SlotCount and AppendHints, which serve both).
	Slots []Slot
	// Signature is the author installation's signature over the encoded part (SignKeyBlock;
	// spec "Key block signature"), checked before anything of the part is used.
	Signature [SignatureSize]byte
	// LegacyHints: a block of version 2, whose slot hints are LegacySlotHint's (Hinter);
	// encoded with version byte 2. Blocks made here leave it false (version BlockVersion).
	LegacyHints bool
	// LegacyID: a block of version LegacyIDVersion (or 2, with LegacyHints), whose rekey id
	// is LegacyRekeyID's. Blocks made here leave it false.
	LegacyID bool
	// LegacyHeads: a block of version PrevIDVersion (or older), whose rekey names no heads
	// and whose id is RekeyID's. Blocks made here leave it false.
	LegacyHeads bool

	// view: parsed by ParseKeyBlockView, whose slots, checked, stay encoded in enc (count
	// of them), aliasing the parsed data; used while Slots is nil (inPlace).
	view  bool
	enc   []byte
	count int
	// hints: the slots' hints in slot order (count × HintSize bytes) when the view was
	// parsed by ParseKeyBlockViewHints, aliasing the buffer its caller lent; nil otherwise.
	hints []byte
}

// NewRekey returns the header of a rekey by author with the given prev frontier and no
// membership heads, drawing its nonce from the caller (16 random bytes).
func NewRekey(group ID, author Installation, nonce [NonceSize]byte, prev Frontier) KeyBlock {
	return NewRekeyHeads(group, author, nonce, prev, nil)
}

// NewRekeyHeads is NewRekey naming the membership heads its author applied (canonical:
// strictly ascending, at most MaxFrontier).
func NewRekeyHeads(group ID, author Installation, nonce [NonceSize]byte, prev, heads Frontier) KeyBlock {
	return KeyBlock{Kind: KindRekey, Author: author, Event: RekeyHeadsID(group, author, nonce, prev, heads), Nonce: nonce,
		Prev: prev, Heads: heads, Parts: 1}
}

// Origin returns the author and nonce (and heads) of the rekey of a block whose id commits
// to its prev (version PrevIDVersion and later), nil for any other block (Event.Rekey).
func (b *KeyBlock) Origin() *RekeyOrigin {
	if b.Kind != KindRekey || b.LegacyID || b.LegacyHints {
		return nil
	}
	return &RekeyOrigin{Author: b.Author, Nonce: b.Nonce, Headed: !b.LegacyHeads, Heads: b.Heads}
}

// rekeyID returns the id b's author, nonce, prev and heads give for b's version.
func (b *KeyBlock) rekeyID(group ID) ID {
	switch {
	case b.LegacyID || b.LegacyHints:
		return LegacyRekeyID(group, b.Author, b.Nonce)
	case b.LegacyHeads:
		return RekeyID(group, b.Author, b.Nonce, b.Prev)
	}
	return RekeyHeadsID(group, b.Author, b.Nonce, b.Prev, b.Heads)
}

// headed reports whether b's encoding has a heads field (a rekey of version BlockVersion).
func (b *KeyBlock) headed() bool {
	return b.Kind == KindRekey && !b.LegacyHeads && !b.LegacyID && !b.LegacyHints
}

// Context returns the slot context SHA-256(u8<"chorus/v2/epoch/slot-context"> || group ||
// kind || author || event || u8 n || prev || confirmation), bound into every slot's Double
// Ratchet AD.
func (b *KeyBlock) Context(group ID) [32]byte {
	p := make([]byte, 0, 1+len(labelSlotContext)+IDSize+1+InstallationSize+IDSize+1+len(b.Prev)*IDSize+IDSize)
	p = appendLabel(p, labelSlotContext)
	p = append(p, group[:]...)
	p = append(p, b.Kind)
	p = append(p, b.Author[:]...)
	p = append(p, b.Event[:]...)
	p = appendIDs(p, b.Prev)
	p = append(p, b.Confirmation[:]...)
	return sha256.Sum256(p)
}

// Find returns the first slot with hint h, if any. Hints are not required to be distinct
// (checking would cost every receiver a set of N entries): a repeated hint only hides the
// later slot from its own recipient, which an author could withhold anyway.
func (b *KeyBlock) Find(h [HintSize]byte) (*Slot, bool) {
	if b.inPlace() {
		return b.findEncoded(h)
	}
	for i := range b.Slots {
		if b.Slots[i].Hint == h {
			return &b.Slots[i], true
		}
	}
	return nil, false
}

// HeaderSize returns the encoded size of the block without its slots.
func (b *KeyBlock) HeaderSize() int {
	n := 1 + 1 + InstallationSize + IDSize + 1 + len(b.Prev)*IDSize + IDSize + 2 + 2 + 4 + SignatureSize
	if b.Kind == KindRekey {
		n += NonceSize
	}
	if b.headed() {
		n += 1 + len(b.Heads)*IDSize
	}
	return n
}

// check validates the header and slots (not the rekey id, which needs the group).
func (b *KeyBlock) check() error {
	if b.Kind != KindMembership && b.Kind != KindRekey {
		return fmt.Errorf("%w: key block kind %#x", ErrMalformed, b.Kind)
	}
	if !b.Prev.valid() || b.Prev.Contains(b.Event) || (len(b.Prev) == 0 && b.Kind != KindMembership) {
		return fmt.Errorf("%w: key block prev", ErrMalformed)
	}
	if !b.Heads.valid() || (len(b.Heads) > 0 && !b.headed()) {
		return fmt.Errorf("%w: key block heads", ErrMalformed)
	}
	if b.Parts == 0 || b.Parts > MaxParts || b.Part >= b.Parts {
		return fmt.Errorf("%w: part %d of %d", ErrMalformed, b.Part, b.Parts)
	}
	for i := range b.Slots {
		if s := &b.Slots[i]; !validSlot(s.Kind, s.X3DHHeader, s.Message) {
			return fmt.Errorf("%w: slot %d", ErrMalformed, i)
		}
	}
	return nil
}

// validSlot reports whether a slot of kind with X3DH header hdr and message msg is valid.
func validSlot(kind byte, hdr, msg []byte) bool {
	switch {
	case kind != SlotSession && kind != SlotInitial && kind != SlotInitialCompact,
		len(msg) == 0 || len(msg) > math.MaxUint16,
		kind == SlotInitial && (len(hdr) == 0 || len(hdr) > math.MaxUint16),
		kind == SlotInitialCompact && (len(hdr) == 0 || len(hdr) > maxCompactHeader),
		kind == SlotSession && len(hdr) != 0:
		return false
	}
	return true
}

// MarshalBinary encodes the block canonically.
func (b *KeyBlock) MarshalBinary() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	slots := 0
	for i := range b.Slots {
		slots += b.Slots[i].size()
	}
	if b.inPlace() {
		slots = len(b.enc)
	}
	if uint64(slots) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: slots too large", ErrMalformed)
	}
	p := make([]byte, 0, b.HeaderSize()+slots)
	v := byte(BlockVersion)
	switch {
	case b.LegacyHints:
		v = Version
	case b.LegacyID:
		v = LegacyIDVersion
	case b.LegacyHeads:
		v = PrevIDVersion
	}
	p = append(p, v, b.Kind)
	p = append(p, b.Author[:]...)
	p = append(p, b.Event[:]...)
	if b.Kind == KindRekey {
		p = append(p, b.Nonce[:]...)
	}
	p = appendIDs(p, b.Prev)
	if b.headed() {
		p = appendIDs(p, b.Heads)
	}
	p = append(p, b.Confirmation[:]...)
	p = binary.BigEndian.AppendUint16(p, b.Part)
	p = binary.BigEndian.AppendUint16(p, b.Parts)
	p = append(p, b.Signature[:]...)
	p = binary.BigEndian.AppendUint32(p, uint32(slots))
	if b.inPlace() {
		p = append(p, b.enc...)
	}
	for i := range b.Slots {
		s := &b.Slots[i]
		p = append(append(p, s.Hint[:]...), s.Kind)
		switch s.Kind {
		case SlotInitial:
			p = binary.BigEndian.AppendUint16(p, uint16(len(s.X3DHHeader)))
			p = append(p, s.X3DHHeader...)
		case SlotInitialCompact:
			p = append(p, byte(len(s.X3DHHeader)))
			p = append(p, s.X3DHHeader...)
		}
		p = binary.BigEndian.AppendUint16(p, uint16(len(s.Message)))
		p = append(p, s.Message...)
	}
	return p, nil
}

// ParseKeyBlock decodes a key block of group strictly: ErrUnsupportedVersion, ErrMalformed,
// or ErrMismatch for a rekey whose id is not RekeyID(group, author, nonce, prev) (version
// BlockVersion) or LegacyRekeyID(group, author, nonce) (versions 3 and 2). Slices of the
// result alias data.
func ParseKeyBlock(group ID, data []byte) (*KeyBlock, error) {
	return ParseKeyBlockInto(group, data, nil)
}

// ParseKeyBlockInto is ParseKeyBlock that appends the slots to slots[:0], in its storage
// while it has room for them (then in a larger one): a receiver that parses large blocks into one slice of its own
// does not allocate one per block (72 KB at 1000 slots, issue 13). The result's Slots is
// that slice (or a larger one); slots' storage may have been written to whatever the
// outcome.
func ParseKeyBlockInto(group ID, data []byte, slots []Slot) (*KeyBlock, error) {
	b, sl, err := parseKeyBlockHeader(data)
	if err != nil {
		return nil, err
	}
	s := reader{b: sl}
	if cap(slots) > 0 {
		// A receiver's own slice (a block as large as the last, most often): no pass to
		// count the slots first; a larger block grows it, once.
		b.Slots = slots[:0]
	} else {
		b.Slots = make([]Slot, 0, countSlots(sl))
	}
	for s.left() > 0 && s.err == nil {
		var slot Slot
		copy(slot.Hint[:], s.bytes(HintSize))
		slot.Kind = s.u8()
		switch slot.Kind {
		case SlotInitial:
			slot.X3DHHeader = s.bytes(int(s.u16()))
		case SlotInitialCompact:
			slot.X3DHHeader = s.bytes(int(s.u8()))
		}
		slot.Message = s.bytes(int(s.u16()))
		b.Slots = append(b.Slots, slot)
	}
	if s.err != nil {
		return nil, s.err
	}
	if err := b.finish(group); err != nil {
		return nil, err
	}
	return b, nil
}

// parseKeyBlockHeader decodes the header of a key block and returns its encoded slots
// (aliasing data), not yet decoded.
func parseKeyBlockHeader(data []byte) (*KeyBlock, []byte, error) {
	r := reader{b: data}
	v := r.u8()
	if r.err == nil && v != BlockVersion && v != PrevIDVersion && v != LegacyIDVersion && v != Version {
		return nil, nil, fmt.Errorf("%w: key block version %d", ErrUnsupportedVersion, v)
	}
	b := &KeyBlock{Kind: r.u8(), Author: r.installation(), Event: r.id(), LegacyHints: v == Version,
		LegacyID: v == LegacyIDVersion || v == Version, LegacyHeads: v != BlockVersion}
	if b.Kind == KindRekey {
		copy(b.Nonce[:], r.bytes(NonceSize))
	}
	b.Prev = r.ids()
	if b.headed() {
		if b.Heads = r.ids(); len(b.Heads) == 0 {
			b.Heads = nil
		}
	}
	b.Confirmation = r.id()
	b.Part, b.Parts = r.u16(), r.u16()
	copy(b.Signature[:], r.bytes(SignatureSize))
	sl := r.bytes(int(r.u32()))
	if r.err != nil {
		return nil, nil, r.err
	}
	if r.left() != 0 {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes after the key block", ErrMalformed, r.left())
	}
	return b, sl, nil
}

// finish checks a decoded block and its rekey id.
func (b *KeyBlock) finish(group ID) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.checkRekeyID(group)
}

// checkRekeyID checks the id of a rekey against its author, nonce, prev and heads.
func (b *KeyBlock) checkRekeyID(group ID) error {
	if b.Kind == KindRekey && b.rekeyID(group) != b.Event {
		return fmt.Errorf("%w: rekey id does not match its nonce, prev and heads", ErrMismatch)
	}
	return nil
}

// countSlots returns how many slots the encoded slots sl hold (those that fit), so that
// ParseKeyBlock allocates them at their number: a guess from the smallest slot size
// allocated twice the 72 KB of 1000 slots (issue 13).
func countSlots(sl []byte) int {
	n := 0
	for i := 0; i+HintSize+1 <= len(sl); n++ {
		i += HintSize
		kind := sl[i]
		i++
		switch kind {
		case SlotInitial:
			if i+2 > len(sl) {
				return n + 1
			}
			i += 2 + int(binary.BigEndian.Uint16(sl[i:]))
		case SlotInitialCompact:
			if i+1 > len(sl) {
				return n + 1
			}
			i += 1 + int(sl[i])
		}
		if i+2 > len(sl) {
			return n + 1
		}
		i += 2 + int(binary.BigEndian.Uint16(sl[i:]))
	}
	return n
}

// SlotPlaintext is the plaintext of a slot or of a pairwise epoch message (spec: "Slot
// plaintext"). Which fields are used depends on Kind:
//   - SlotSeed: Seed;
//   - SlotContribution: Event, Prev, Frontier, X;
//   - SlotSeedResend: Event, Prev, Seed.
type SlotPlaintext struct {
	Kind     byte
	Event    ID
	Prev     Frontier
	Frontier Frontier
	Seed     Seed
	X        ID
}

// MarshalBinary encodes the slot plaintext canonically.
func (p *SlotPlaintext) MarshalBinary() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 2+IDSize+1+len(p.Prev)*IDSize+1+len(p.Frontier)*IDSize+IDSize)
	b = append(b, Version, p.Kind)
	switch p.Kind {
	case SlotSeed:
		b = append(b, p.Seed[:]...)
	case SlotContribution:
		b = append(b, p.Event[:]...)
		b = appendIDs(b, p.Prev)
		b = appendIDs(b, p.Frontier)
		b = append(b, p.X[:]...)
	case SlotSeedResend:
		b = append(b, p.Event[:]...)
		b = appendIDs(b, p.Prev)
		b = append(b, p.Seed[:]...)
	}
	return b, nil
}

func (p *SlotPlaintext) check() error {
	switch p.Kind {
	case SlotSeed:
		if p.Event != (ID{}) || len(p.Prev) != 0 || len(p.Frontier) != 0 || p.X != (ID{}) {
			return fmt.Errorf("%w: seed slot with other fields", ErrMalformed)
		}
	case SlotContribution:
		if !p.Prev.valid() || p.Prev.Contains(p.Event) || len(p.Frontier) == 0 || !p.Frontier.valid() ||
			!p.Frontier.Contains(p.Event) || p.Seed != (Seed{}) {
			return fmt.Errorf("%w: contribution", ErrMalformed)
		}
	case SlotSeedResend:
		if !p.Prev.valid() || p.Prev.Contains(p.Event) || len(p.Frontier) != 0 || p.X != (ID{}) {
			return fmt.Errorf("%w: seed resend", ErrMalformed)
		}
	default:
		return fmt.Errorf("%w: slot plaintext kind %#x", ErrMalformed, p.Kind)
	}
	return nil
}

// ParseSlotPlaintext decodes a slot plaintext strictly.
func ParseSlotPlaintext(data []byte) (*SlotPlaintext, error) {
	r := reader{b: data}
	if v := r.u8(); r.err == nil && v != Version {
		return nil, fmt.Errorf("%w: slot plaintext version %d", ErrUnsupportedVersion, v)
	}
	p := &SlotPlaintext{Kind: r.u8()}
	switch p.Kind {
	case SlotSeed:
		copy(p.Seed[:], r.bytes(IDSize))
	case SlotContribution:
		p.Event = r.id()
		p.Prev = r.ids()
		p.Frontier = r.ids()
		p.X = r.id()
	case SlotSeedResend:
		p.Event = r.id()
		p.Prev = r.ids()
		copy(p.Seed[:], r.bytes(IDSize))
	default:
		if r.err == nil {
			return nil, fmt.Errorf("%w: slot plaintext kind %#x", ErrMalformed, p.Kind)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.left())
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}
