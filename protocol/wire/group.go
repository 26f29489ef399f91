package wire

import "golang.org/x/crypto/cryptobyte"

// Group frame flags.
const (
	flagRotation = 1 << 0
	flagMessage  = 1 << 1
)

// NonceSize is the XChaCha20-Poly1305 nonce size of the outer group encryption.
const NonceSize = 24

// GroupFrame is the plaintext of one group publish (inside the outer AEAD under the group
// key):
//
//	version(1) || flags(1: bit0 rotation block, bit1 message; at least one set) ||
//	[rotation block] || [u32<senderkeys message>]
type GroupFrame struct {
	Rotation *RotationBlock
	Message  []byte
}

// RotationBlock is the packed distribution envelope: the public part of a sender-key
// distribution once, then one slot per recipient installation. A block too large for one
// publish is split into Parts blocks, each with the public part and a share of the slots.
//
//	u16<public distribution> || part u16 || parts u16 || u32<slots>
type RotationBlock struct {
	Public PublicDistribution
	Part   uint16
	Parts  uint16
	Slots  []Slot
}

// PublicDistribution is a senderkeys.Distribution without ChainKey and Iteration (those
// travel in the slots):
//
//	u8<group> || installation(16) || key id(8) || signing key(33) || has prev(1) ||
//	prev key id(8) || prev last iteration u32 || signature(64)
type PublicDistribution struct {
	Group             []byte
	Installation      [16]byte
	KeyID             [8]byte
	SigningKey        [33]byte
	HasPrev           bool
	PrevKeyID         [8]byte
	PrevLastIteration uint32
	Signature         [64]byte
}

// SlotKind says how a slot's content is encrypted.
type SlotKind uint8

// Slot kinds.
const (
	// SlotSession: Message is a Double Ratchet message of an established session.
	SlotSession SlotKind = 0
	// SlotInitial: Header is an X3DH header starting a session, Message its first
	// Double Ratchet message.
	SlotInitial SlotKind = 1
)

// Slot carries (chain key, iteration) to one recipient installation:
//
//	hint(16) || kind(1) || [u16<x3dh header> if initial] || u16<double ratchet message>
type Slot struct {
	Hint    [HintSize]byte
	Kind    SlotKind
	Header  []byte
	Message []byte
}

// SlotPlaintextSize is the size of a slot's decrypted content: chain key(32) || iteration u32.
const SlotPlaintextSize = 36

// MaxSlots bounds the slots of one rotation block part.
const MaxSlots = 65535

// Marshal encodes the public distribution.
func (p *PublicDistribution) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	p.add(&b)
	return finish(&b)
}

func (p *PublicDistribution) add(b *cryptobyte.Builder) {
	addVec8(b, p.Group)
	b.AddBytes(p.Installation[:])
	b.AddBytes(p.KeyID[:])
	b.AddBytes(p.SigningKey[:])
	b.AddUint8(boolByte(p.HasPrev))
	b.AddBytes(p.PrevKeyID[:])
	b.AddUint32(p.PrevLastIteration)
	b.AddBytes(p.Signature[:])
}

func readPublic(s *cryptobyte.String, p *PublicDistribution) bool {
	return readVec8(s, &p.Group) && readFixed(s, p.Installation[:]) && readFixed(s, p.KeyID[:]) &&
		readFixed(s, p.SigningKey[:]) && readBool(s, &p.HasPrev) && readFixed(s, p.PrevKeyID[:]) &&
		s.ReadUint32(&p.PrevLastIteration) && readFixed(s, p.Signature[:])
}

// AddSlot appends the encoding of sl to b; exported for size accounting.
func (sl *Slot) add(b *cryptobyte.Builder) {
	b.AddBytes(sl.Hint[:])
	b.AddUint8(uint8(sl.Kind))
	if sl.Kind == SlotInitial {
		addVec16(b, sl.Header)
	}
	addVec16(b, sl.Message)
}

// Size returns the encoded size of the slot.
func (sl *Slot) Size() int {
	n := HintSize + 1 + 2 + len(sl.Message)
	if sl.Kind == SlotInitial {
		n += 2 + len(sl.Header)
	}
	return n
}

// Marshal encodes f.
func (f *GroupFrame) Marshal() ([]byte, error) {
	var flags uint8
	if f.Rotation != nil {
		flags |= flagRotation
	}
	if f.Message != nil {
		flags |= flagMessage
	}
	if flags == 0 {
		return nil, ErrMalformed
	}
	if f.Rotation != nil && len(f.Rotation.Slots) > MaxSlots {
		return nil, ErrTooLarge
	}
	var b cryptobyte.Builder
	b.AddUint8(Version)
	b.AddUint8(flags)
	if r := f.Rotation; r != nil {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { r.Public.add(b) })
		b.AddUint16(r.Part)
		b.AddUint16(r.Parts)
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) {
			for i := range r.Slots {
				r.Slots[i].add(b)
			}
		})
	}
	if f.Message != nil {
		addVec32(&b, f.Message)
	}
	return finish(&b)
}

// ParseGroupFrame decodes a group frame.
func ParseGroupFrame(in []byte) (*GroupFrame, error) {
	s := cryptobyte.String(in)
	var v, flags uint8
	if !s.ReadUint8(&v) || v != Version || !s.ReadUint8(&flags) || flags == 0 ||
		flags&^(flagRotation|flagMessage) != 0 {
		return nil, ErrMalformed
	}
	f := &GroupFrame{}
	if flags&flagRotation != 0 {
		r := &RotationBlock{}
		var pub, slots cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&pub) || !readPublic(&pub, &r.Public) || !pub.Empty() ||
			!s.ReadUint16(&r.Part) || !s.ReadUint16(&r.Parts) || r.Parts == 0 || r.Part >= r.Parts ||
			!readU32Prefixed(&s, &slots) {
			return nil, ErrMalformed
		}
		for !slots.Empty() {
			if len(r.Slots) >= MaxSlots {
				return nil, ErrMalformed
			}
			var sl Slot
			var k uint8
			if !readFixed(&slots, sl.Hint[:]) || !slots.ReadUint8(&k) || k > uint8(SlotInitial) {
				return nil, ErrMalformed
			}
			sl.Kind = SlotKind(k)
			if sl.Kind == SlotInitial && !readVec16(&slots, &sl.Header) {
				return nil, ErrMalformed
			}
			if !readVec16(&slots, &sl.Message) {
				return nil, ErrMalformed
			}
			r.Slots = append(r.Slots, sl)
		}
		f.Rotation = r
	}
	if flags&flagMessage != 0 {
		if !readVec32(&s, &f.Message) {
			return nil, ErrMalformed
		}
	}
	if !s.Empty() {
		return nil, ErrMalformed
	}
	return f, nil
}

// RotationOverhead returns the encoded size of a frame holding pub and no slots, no
// message: what every part of a split rotation block costs besides its slots.
func RotationOverhead(pub *PublicDistribution) int {
	return 2 + 2 + (1 + len(pub.Group) + 16 + 8 + 33 + 1 + 8 + 4 + 64) + 2 + 2 + 4
}
