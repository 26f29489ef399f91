package wire

import (
	"math"

	"golang.org/x/crypto/cryptobyte"
)

// Version2 is the version byte of the key schedule v2 structures (spec: protocol, "Key
// schedule v2 (epochs)").
const Version2 = 2

// FrameV2 is the plaintext of one group publish under key schedule v2:
//
//	0x02 || flags(1: bit0 key block, bit1 message; at least one set) ||
//	[u32<key block> if bit0] || [u32<message> if bit1]
//
// The key block (epoch.KeyBlock) and the message (an epoch v2 message) are parsed by
// package epoch. Marshal pads the frame with zero bytes so that the sealed payload is a
// bucket (grouppad.go); ParseFrameV2 requires exactly that padding.
type FrameV2 struct {
	Block   []byte
	Message []byte
}

// Marshal encodes f.
func (f *FrameV2) Marshal() ([]byte, error) {
	var flags uint8
	if f.Block != nil {
		flags |= flagRotation
	}
	if f.Message != nil {
		flags |= flagMessage
	}
	if flags == 0 {
		return nil, ErrMalformed
	}
	// Encoded straight into the padded frame (one allocation: this is every group send).
	n := 2
	for _, v := range [][]byte{f.Block, f.Message} {
		if v != nil {
			if uint64(len(v)) > math.MaxUint32 {
				return nil, ErrTooLarge
			}
			n += 4 + len(v)
		}
	}
	out := append(make([]byte, 0, paddedFrameSize(n, f.Block != nil)), Version2, flags)
	if f.Block != nil {
		out = appendVec32(out, f.Block)
	}
	if f.Message != nil {
		out = appendVec32(out, f.Message)
	}
	return out[:cap(out)], nil // the padding: zero bytes
}

// FrameV2Overhead is the encoded size of a frame around its block and message (both
// present), before padding.
const FrameV2Overhead = 2 + 4 + 4

// ParseFrameV2 decodes a padded v2 group frame strictly (padding all zero, to the bucket).
// Block aliases in (a key block is ~150 KB at 1000 installations, just decrypted: copying
// it cost a receiver a tenth of its key event); Message is a copy.
func ParseFrameV2(in []byte) (*FrameV2, error) {
	s := cryptobyte.String(in)
	var v, flags uint8
	if !s.ReadUint8(&v) || v != Version2 || !s.ReadUint8(&flags) || flags == 0 ||
		flags&^(flagRotation|flagMessage) != 0 {
		return nil, ErrMalformed
	}
	f := &FrameV2{}
	if flags&flagRotation != 0 {
		var block cryptobyte.String
		if !readU32Prefixed(&s, &block) || len(block) == 0 {
			return nil, ErrMalformed
		}
		f.Block = block[:len(block):len(block)]
	}
	if flags&flagMessage != 0 && (!readVec32(&s, &f.Message) || len(f.Message) == 0) {
		return nil, ErrMalformed
	}
	if len(in) != paddedFrameSize(len(in)-len(s), f.Block != nil) {
		return nil, ErrMalformed
	}
	for _, c := range s {
		if c != 0 {
			return nil, ErrMalformed
		}
	}
	return f, nil
}

// WelcomeV2 invites an installation into a group of key schedule v2 (pairwise type
// PairwiseWelcomeV2):
//
//	0x02 || group id(32) || u16<chat id> || secret(32) || buckets u32 || sent at u64 (unix ms) ||
//	u16<join> || u32<membership update message> || u32<list of u16<device list>>
//
// A Welcome too large for one publish is split: the first part carries the join and the
// event log, the next ones an empty join, an empty log and more device lists. A creation
// Welcome carries the join only.
//
// A snapshot add Welcome (Snapshot set) starts with WelcomeSnapshot instead of Version2
// and carries, in the place of the log, a snapshot (membership.ParseSnapshot): an older
// decoder refuses it (unknown version) rather than reading the snapshot as a log. It has
// a join and a non-empty snapshot.
type WelcomeV2 struct {
	GroupID     [32]byte
	ChatID      string
	Secret      [32]byte
	Buckets     uint32
	SentAt      uint64
	Join        []byte
	Membership  []byte
	Snapshot    []byte
	DeviceLists [][]byte
}

// WelcomeSnapshot is the first byte of a snapshot add Welcome.
const WelcomeSnapshot = 3

// Marshal encodes w.
func (w *WelcomeV2) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	log := w.Membership
	if w.Snapshot != nil {
		if len(w.Membership) > 0 || len(w.Join) == 0 || len(w.Snapshot) == 0 {
			return nil, ErrMalformed
		}
		b.AddUint8(WelcomeSnapshot)
		log = w.Snapshot
	} else {
		b.AddUint8(Version2)
	}
	b.AddBytes(w.GroupID[:])
	addVec16(&b, []byte(w.ChatID))
	b.AddBytes(w.Secret[:])
	b.AddUint32(w.Buckets)
	b.AddUint64(w.SentAt)
	addVec16(&b, w.Join)
	addVec32(&b, log)
	addList16(&b, w.DeviceLists)
	return finish(&b)
}

// ParseWelcomeV2 decodes a WelcomeV2 strictly. A first part has a join and a log, a
// creation Welcome a join and no log (nor device lists: the creator publishes them in the
// group), a continuation part neither.
func ParseWelcomeV2(in []byte) (*WelcomeV2, error) {
	s := cryptobyte.String(in)
	w := &WelcomeV2{}
	var v uint8
	var chat []byte
	if !s.ReadUint8(&v) || v != Version2 && v != WelcomeSnapshot || !readFixed(&s, w.GroupID[:]) || !readVec16(&s, &chat) ||
		!readFixed(&s, w.Secret[:]) || !s.ReadUint32(&w.Buckets) || !s.ReadUint64(&w.SentAt) ||
		!readVec16(&s, &w.Join) || !readVec32(&s, &w.Membership) || !readList16(&s, MaxWelcomeItems, &w.DeviceLists) ||
		!s.Empty() || len(w.Join) == 0 && len(w.Membership) > 0 {
		return nil, ErrMalformed
	}
	if v == WelcomeSnapshot {
		if len(w.Join) == 0 || len(w.Membership) == 0 {
			return nil, ErrMalformed
		}
		w.Snapshot, w.Membership = w.Membership, nil
	}
	if len(w.Join) == 0 {
		w.Join, w.Membership = nil, nil
	}
	w.ChatID = string(chat)
	return w, nil
}
