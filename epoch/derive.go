package epoch

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"slices"
)

// Frontier is a set of key event ids in canonical order: strictly ascending bytewise, at
// most MaxFrontier. The same type is used for the prev set of a key event, which may be
// empty (creation); a frontier itself is never empty.
type Frontier []ID

// NewFrontier returns the canonical frontier of ids (sorted, duplicates removed); more than
// MaxFrontier distinct ids is ErrMalformed.
func NewFrontier(ids ...ID) (Frontier, error) {
	f := slices.Clone(ids)
	slices.SortFunc(f, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	f = slices.Compact(f)
	if len(f) > MaxFrontier {
		return nil, fmt.Errorf("%w: %d ids in a frontier (max %d)", ErrMalformed, len(f), MaxFrontier)
	}
	return f, nil
}

// valid reports whether f is canonical (strictly ascending, at most MaxFrontier).
func (f Frontier) valid() bool {
	if len(f) > MaxFrontier {
		return false
	}
	for i := 1; i < len(f); i++ {
		if bytes.Compare(f[i-1][:], f[i][:]) >= 0 {
			return false
		}
	}
	return true
}

// Contains reports whether id is in f.
func (f Frontier) Contains(id ID) bool {
	_, ok := slices.BinarySearchFunc(f, id, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return ok
}

// Equal reports whether f and g hold the same ids.
func (f Frontier) Equal(g Frontier) bool { return slices.Equal(f, g) }

// appendLabel appends u8<label>.
func appendLabel(b []byte, label string) []byte {
	return append(append(b, byte(len(label))), label...)
}

// appendIDs appends u8 n || ids.
func appendIDs(b []byte, ids []ID) []byte {
	b = append(b, byte(len(ids)))
	for i := range ids {
		b = append(b, ids[i][:]...)
	}
	return b
}

// EpochID returns EID(F) = SHA-256(u8<"chorus/v2/epoch/epoch-id"> || group || u8 n || ids).
// f must be a canonical, non-empty frontier (ErrMalformed otherwise).
func EpochID(group ID, f Frontier) (ID, error) {
	if len(f) == 0 || !f.valid() {
		return ID{}, fmt.Errorf("%w: frontier not canonical", ErrMalformed)
	}
	return epochID(group, f), nil
}

func epochID(group ID, f Frontier) ID {
	// On the stack for the frontiers met in practice (a few events): EID is derived
	// several times per key event received (issue 13).
	var buf [1 + len(labelEpochID) + IDSize + 1 + 4*IDSize]byte
	b := buf[:0]
	if n := 1 + len(labelEpochID) + IDSize + 1 + len(f)*IDSize; n > len(buf) {
		b = make([]byte, 0, n)
	}
	b = appendLabel(b, labelEpochID)
	b = append(b, group[:]...)
	b = appendIDs(b, f)
	return sha256.Sum256(b)
}

// Contribution returns x_E(F) = HMAC-SHA256(s_E, u8<"chorus/v2/epoch/contribution"> || E ||
// EID(F)), the share of event e's seed in the epoch of frontier f (which must contain e).
func Contribution(group ID, seed *Seed, e ID, f Frontier) (ID, error) {
	eid, err := EpochID(group, f)
	if err != nil {
		return ID{}, err
	}
	if !f.Contains(e) {
		return ID{}, fmt.Errorf("%w: event %s not in the frontier", ErrMalformed, e)
	}
	return contribution(seed, e, &eid), nil
}

func contribution(seed *Seed, e ID, eid *ID) ID {
	m := hmac.New(sha256.New, seed[:])
	var b [1 + len(labelContribution) + 2*IDSize]byte
	m.Write(append(append(appendLabel(b[:0], labelContribution), e[:]...), eid[:]...))
	var x ID
	m.Sum(x[:0])
	return x
}

// Epoch is one epoch: its id EID(F) and its secret ES(F).
type Epoch struct {
	ID     ID
	Secret [IDSize]byte
}

// Compose returns the epoch of frontier f from the contributions of its events, given in
// frontier order: ES(F) = HKDF-SHA256(salt = EID(F), ikm = x_1 || … || x_n,
// info = "chorus/v2/epoch/epoch-secret", 32).
func Compose(group ID, f Frontier, xs []ID) (Epoch, error) {
	eid, err := EpochID(group, f)
	if err != nil {
		return Epoch{}, err
	}
	if len(xs) != len(f) {
		return Epoch{}, fmt.Errorf("%w: %d contributions for %d events", ErrMalformed, len(xs), len(f))
	}
	return compose(&eid, xs), nil
}

func compose(eid *ID, xs []ID) Epoch {
	ikm := make([]byte, 0, len(xs)*IDSize)
	for i := range xs {
		ikm = append(ikm, xs[i][:]...)
	}
	e := Epoch{ID: *eid}
	out, err := hkdf.Key(sha256.New, ikm, eid[:], labelEpochSecret, IDSize)
	if err != nil {
		panic("epoch: hkdf: " + err.Error()) // impossible: 32 bytes of SHA-256 output
	}
	copy(e.Secret[:], out)
	clear(out)
	clear(ikm)
	return e
}

func expand(prk *[IDSize]byte, info string) [IDSize]byte {
	var k [IDSize]byte
	expandInto(prk, info, k[:])
	return k
}

// OuterKey returns K_out = HKDF-Expand(ES, "chorus/v2/epoch/outer-key", 32), the key of the
// group payloads sent under this epoch.
func (e *Epoch) OuterKey() [IDSize]byte { return expand(&e.Secret, labelOuterKey) }

// SenderChain returns CK_0 = HKDF-Expand(ES, "chorus/v2/epoch/sender-chain" || inst, 32),
// the first chain key of installation inst's sending chain in this epoch.
func (e *Epoch) SenderChain(inst Installation) [IDSize]byte {
	return expand(&e.Secret, labelSenderChain+string(inst[:]))
}

// ChainStep returns the message key MK_j = HMAC(CK_j, 0x01) and the next chain key
// CK_{j+1} = HMAC(CK_j, 0x02) (the senderkeys key schedule).
func ChainStep(ck *[IDSize]byte) (mk, next [IDSize]byte) {
	return mac32(ck, []byte{0x01}, nil), mac32(ck, []byte{0x02}, nil)
}

// MessageKeys returns the AEAD key and nonce of a message key:
// HKDF-Expand(MK, "chorus/v1/senderkeys/message-keys", 44) split 32 + 12.
func MessageKeys(mk *[IDSize]byte) (key [32]byte, nonce [12]byte) {
	var out [44]byte
	expandInto(mk, labelMessageKeys, out[:])
	copy(key[:], out[:])
	copy(nonce[:], out[32:])
	clear(out[:])
	return key, nonce
}

// SlotHint returns the hint of recipient's slot in the key block (version BlockVersion) of
// event: AES-128(key = SHA-256(u8<"chorus/v2/epoch/slot-hint-key"> || event)[0:16],
// recipient) XOR recipient (Matyas–Meyer–Oseas: one-way, where the AES block alone was
// decrypted back to the recipient by anyone who read the event id; review 5,
// TestSlotHintHidesRecipient). For many recipients of one event use a Hinter (one key
// schedule).
func SlotHint(event ID, recipient Installation) [HintSize]byte {
	h := NewHinter(event)
	return h.Hint(recipient)
}

// Hinter computes the slot hints of one key event (spec: "Rotation block", slot hint): a
// version 3 block's hint is one AES block under a key derived from the event id, XORed
// with its input, a
// version 2 block's (LegacySlotHint) two SHA-256 blocks; a receiver's heal check computes
// one for every member installation per key event (issue 13). The zero Hinter is not
// usable; a Hinter (and its copies) is not for concurrent use.
type Hinter struct {
	event  ID
	legacy bool
	block  cipher.Block // the event's hint key (version 3)
	// buf is where a hint is computed: the slices handed to block (an interface) escape,
	// so they point here, allocated once, not at the stack (two allocations per hint).
	buf *[2 * HintSize]byte
}

// NewHinter returns the Hinter of event's version 3 slot hints.
func NewHinter(event ID) Hinter {
	var b [1 + len(labelSlotHintKey) + IDSize]byte
	k := sha256.Sum256(append(appendLabel(b[:0], labelSlotHintKey), event[:]...))
	c, err := aes.NewCipher(k[:16])
	if err != nil {
		panic(err) // a 16-byte key
	}
	return Hinter{event: event, block: c, buf: new([2 * HintSize]byte)}
}

// LegacyHinter returns the Hinter of event's version 2 slot hints (LegacySlotHint).
func LegacyHinter(event ID) Hinter { return Hinter{event: event, legacy: true} }

// Hinter returns the Hinter of the slot hints of b's version.
func (b *KeyBlock) Hinter() Hinter {
	if b.LegacyHints {
		return LegacyHinter(b.Event)
	}
	return NewHinter(b.Event)
}

// Hint returns recipient's slot hint.
func (h *Hinter) Hint(recipient Installation) (out [HintSize]byte) {
	if h.legacy {
		return LegacySlotHint(h.event, recipient)
	}
	copy(h.buf[:HintSize], recipient[:])
	h.block.Encrypt(h.buf[HintSize:], h.buf[:HintSize])
	for i := range out {
		out[i] = h.buf[HintSize+i] ^ recipient[i] // the block alone decrypts to recipient
	}
	return out
}

// LegacySlotHint returns SHA-256(u8<"chorus/v2/epoch/slot-hint"> || event || recipient)[0:16],
// the hint of recipient's slot in a version 2 key block of event (LegacyHints: read, no
// longer made).
func LegacySlotHint(event ID, recipient Installation) [HintSize]byte {
	var b [1 + len(labelSlotHint) + IDSize + InstallationSize]byte
	s := sha256.Sum256(append(append(appendLabel(b[:0], labelSlotHint), event[:]...), recipient[:]...))
	var h [HintSize]byte
	copy(h[:], s[:])
	return h
}

// RekeyID returns SHA-256(u8<"chorus/v2/epoch/rekey-prev-id"> || group || author || nonce ||
// u8 n || prev), the id of a rekey of a key block of version PrevIDVersion: it commits to
// the rekey's prev set (canonical), so that nobody but its author can give it another
// (welid; review 5: a member's Welcome did).
func RekeyID(group ID, author Installation, nonce [NonceSize]byte, prev Frontier) ID {
	b := make([]byte, 0, 1+len(labelRekeyPrevID)+IDSize+InstallationSize+NonceSize+1+len(prev)*IDSize)
	b = appendLabel(b, labelRekeyPrevID)
	b = append(append(append(b, group[:]...), author[:]...), nonce[:]...)
	return sha256.Sum256(appendIDs(b, prev))
}

// RekeyHeadsID returns SHA-256(u8<"chorus/v2/epoch/rekey-heads-id"> || group || author ||
// nonce || u8 n || prev || u8 m || heads), the id of a rekey of a key block of version
// BlockVersion: it commits to the rekey's prev set and to the membership heads its author
// named (both canonical), so that one id has one causal past for every receiver (spec
// "Authority").
func RekeyHeadsID(group ID, author Installation, nonce [NonceSize]byte, prev, heads Frontier) ID {
	b := make([]byte, 0, 1+len(labelRekeyHeadsID)+IDSize+InstallationSize+NonceSize+2+(len(prev)+len(heads))*IDSize)
	b = appendLabel(b, labelRekeyHeadsID)
	b = append(append(append(b, group[:]...), author[:]...), nonce[:]...)
	return sha256.Sum256(appendIDs(appendIDs(b, prev), heads))
}

// LegacyRekeyID returns SHA-256(u8<"chorus/v2/epoch/rekey-id"> || group || author ||
// nonce), the id of a rekey of a key block of version 3 or 2 (committing to no prev).
func LegacyRekeyID(group ID, author Installation, nonce [NonceSize]byte) ID {
	var b [1 + len(labelRekeyID) + IDSize + InstallationSize + NonceSize]byte
	p := appendLabel(b[:0], labelRekeyID)
	p = append(append(append(p, group[:]...), author[:]...), nonce[:]...)
	return sha256.Sum256(p)
}
