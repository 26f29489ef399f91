// Key schedule v2, coverage hints: the slot hints of a key event's coverage, packed.

package protocol

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"slices"
	"sort"
	"unsafe"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// hintList is a set of slot hints, packed (epoch.HintSize bytes each) and sorted: a
// large group's coverage holds a hint per installation, and every key event stored,
// decoded and searched them (as hex strings in JSON, then a map, they cost more than
// the key event itself; issue 13). JSON encodes it as one base64 string.
type hintList []byte

// packHints returns the set of hints hs (hs is sorted in place).
func packHints(hs [][epoch.HintSize]byte) hintList {
	if !slices.IsSortedFunc(hs, cmpHint) {
		keys := make([]hintKey, len(hs))
		for i := range hs {
			keys[i] = keyOf(hs[i])
		}
		slices.SortFunc(keys, cmpKey)
		for i := range keys {
			binary.BigEndian.PutUint64(hs[i][:8], keys[i].hi)
			binary.BigEndian.PutUint64(hs[i][8:], keys[i].lo)
		}
	}
	hs = slices.Compact(hs)
	out := make(hintList, 0, len(hs)*epoch.HintSize)
	for i := range hs {
		out = append(out, hs[i][:]...)
	}
	return out
}

// blockHintList is packHints(blockHints(kb)) without the list of hints in between (16 KB
// at 1000 slots, issue 13): the hints are copied into the set straight from the slots
// (encoded, in a block parsed as a view), and sorted there if they do not come sorted.
func blockHintList(kb *epoch.KeyBlock) hintList {
	out := hintList(kb.AppendHints(make([]byte, 0, kb.SlotCount()*epoch.HintSize)))
	if out.ascending() {
		return out // as an author sends them (sortSlots): no sort keys in between
	}
	keys := make([]hintKey, out.len())
	for i := range keys {
		keys[i] = keyOf([epoch.HintSize]byte(out.at(i)))
	}
	slices.SortFunc(keys, cmpKey)
	keys = slices.Compact(keys)
	out = out[:len(keys)*epoch.HintSize]
	for i := range keys {
		binary.BigEndian.PutUint64(out[i*epoch.HintSize:], keys[i].hi)
		binary.BigEndian.PutUint64(out[i*epoch.HintSize+8:], keys[i].lo)
	}
	return out
}

// ascending reports whether the hints of l are in ascending order, with no hint twice.
func (l hintList) ascending() bool {
	for i := 1; i < l.len(); i++ {
		a, b := keyOf([epoch.HintSize]byte(l.at(i-1))), keyOf([epoch.HintSize]byte(l.at(i)))
		if a.hi > b.hi || a.hi == b.hi && a.lo >= b.lo {
			return false
		}
	}
	return true
}

// hintKey is a hint as two integers, ordered as the hint's bytes.
type hintKey struct{ hi, lo uint64 }

func cmpKey(a, b hintKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func keyOf(h [epoch.HintSize]byte) hintKey {
	return hintKey{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}
}

func cmpHint(a, b [epoch.HintSize]byte) int { return bytes.Compare(a[:], b[:]) }

// len returns the number of hints.
func (l hintList) len() int { return len(l) / epoch.HintSize }

func (l hintList) at(i int) []byte { return l[i*epoch.HintSize : (i+1)*epoch.HintSize] }

// has reports whether h is in the set. Hints are hash outputs, spread evenly: the
// search starts where h's leading bits place it and gallops outwards from there (a few
// probes for 1000 hints, where bisection took ten; the heal check looks up every member
// installation's hint of a frontier event, issue 13), which finds any hint whatever the
// spread.
func (l hintList) has(h [epoch.HintSize]byte) bool {
	k := keyOf(h)
	n := l.len()
	if n == 0 {
		return false
	}
	less := func(i int) bool { // the hint at i sorts before h
		e := l[i*epoch.HintSize:]
		hi := binary.BigEndian.Uint64(e)
		return hi < k.hi || hi == k.hi && binary.BigEndian.Uint64(e[8:]) < k.lo
	}
	g64, _ := bits.Mul64(k.hi, uint64(n)) // ⌊k.hi·n / 2^64⌋ < n
	g := int(g64)
	// [lo, hi]: where the first hint not before h is; hi is n or such a hint.
	lo, hi := 0, n
	if less(g) {
		lo = g + 1
		for step := 1; ; step *= 2 {
			j := lo + step - 1
			if j >= n {
				break
			}
			if !less(j) {
				hi = j
				break
			}
			lo = j + 1
		}
	} else {
		hi = g
		for step := 1; ; step *= 2 {
			j := hi - step
			if j < 0 {
				break
			}
			if less(j) {
				lo = j + 1
				break
			}
			hi = j
		}
	}
	i := lo + sort.Search(hi-lo, func(j int) bool { return !less(lo + j) })
	return i < n && keyOf([epoch.HintSize]byte(l.at(i))) == k
}

// hintIndex places the hints of a hintList by their leading bits: start[j] is the first
// hint whose top bits are j or more (one bucket per hint, rounded up to a power of two).
// The heal check looks up every member installation's hint of a frontier event (issue
// 13): through the index a lookup reads the one or two hints of its bucket, where the
// search of has mispredicted a branch at most of its probes.
type hintIndex struct {
	shift uint
	start []int32
}

// index returns the index of l.
func (l hintList) index() hintIndex {
	n := l.len()
	bits := 0
	for 1<<bits < n {
		bits++
	}
	x := hintIndex{shift: uint(64 - bits), start: make([]int32, 1<<bits+1)}
	j := 0 // the next bucket whose start is not set
	for i := range n {
		b := int(binary.BigEndian.Uint64(l[i*epoch.HintSize:]) >> x.shift)
		for ; j <= b; j++ {
			x.start[j] = int32(i)
		}
	}
	for ; j < len(x.start); j++ {
		x.start[j] = int32(n)
	}
	return x
}

// has reports whether h is in l, the list x was built from.
func (x *hintIndex) has(l hintList, h [epoch.HintSize]byte) bool {
	k := keyOf(h)
	b := k.hi >> x.shift
	for i := x.start[b]; i < x.start[b+1]; i++ {
		if keyOf([epoch.HintSize]byte(l.at(int(i)))) == k {
			return true
		}
	}
	return false
}

// union returns the set of the hints of l and hs (hs is sorted in place).
func (l hintList) union(hs [][epoch.HintSize]byte) hintList {
	all := make([][epoch.HintSize]byte, 0, l.len()+len(hs))
	for i := range l.len() {
		all = append(all, [epoch.HintSize]byte(l.at(i)))
	}
	return packHints(append(all, hs...))
}

// valid reports whether l is a whole number of hints, sorted and distinct.
func (l hintList) valid() bool {
	if len(l)%epoch.HintSize != 0 {
		return false
	}
	for i := 1; i < l.len(); i++ {
		if bytes.Compare(l.at(i-1), l.at(i)) >= 0 {
			return false
		}
	}
	return true
}

// hinter returns the Hinter of the hints of cv, the coverage of event e.
func (cv *coverage) hinter(e epoch.ID) epoch.Hinter {
	if cv.HintsV3 {
		return epoch.NewHinter(e)
	}
	return epoch.LegacyHinter(e)
}

// newCoverage records the installations ins (and accounts adds) as holding the seed of
// event e authored by author, with the hints of a block of version 3 (of version 2 if
// legacy).
func newCoverage(e epoch.ID, legacy bool, author InstallationID, ins []storage.InstallationRecord, adds []string) *coverage {
	cv := &coverage{Author: author, Adds: adds, HintsV3: !legacy}
	h := cv.hinter(e)
	hs := make([][epoch.HintSize]byte, len(ins))
	for i := range ins {
		hs[i] = h.Hint(epoch.Installation(ins[i].ID))
	}
	cv.Hints = packHints(hs)
	return cv
}

// blockHints returns the hints of kb's slots.
func blockHints(kb *epoch.KeyBlock) [][epoch.HintSize]byte {
	l := hintList(kb.AppendHints(make([]byte, 0, kb.SlotCount()*epoch.HintSize)))
	hs := make([][epoch.HintSize]byte, l.len())
	for i := range hs {
		hs[i] = [epoch.HintSize]byte(l.at(i))
	}
	return hs
}

// upgradeHints moves a coverage's hints stored as hex strings (before hintList) into its
// packed set. It reports false if one does not decode.
func (cv *coverage) upgradeHints() bool {
	if len(cv.HexHints) == 0 {
		return cv.Hints.valid()
	}
	hs := make([][epoch.HintSize]byte, 0, len(cv.HexHints)+cv.Hints.len())
	for _, s := range cv.HexHints {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != epoch.HintSize {
			return false
		}
		hs = append(hs, [epoch.HintSize]byte(b))
	}
	if !cv.Hints.valid() {
		return false
	}
	cv.Hints, cv.HexHints, cv.enc = cv.Hints.union(hs), nil, nil
	return true
}

// sortSlots orders a block's slots (and the installations they are for, in step) by
// hint: a receiver keeps the hints of a block as a sorted set, at no cost when they come
// sorted (the order of slots means nothing otherwise).
func sortSlots(slots []epoch.Slot, ins []InstallationID) ([]epoch.Slot, []InstallationID) {
	order := make([]int, len(slots))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return bytes.Compare(slots[i].Hint[:], slots[j].Hint[:]) })
	sorted, ids := make([]epoch.Slot, len(slots)), make([]InstallationID, len(slots))
	for k, i := range order {
		sorted[k], ids[k] = slots[i], ins[i]
	}
	return sorted, ids
}

// schedMemo is the schedule last stored or decoded for a group, by its exact encoding
// (as metaMemo: content-addressed, never ahead of the store). A key event decoded the
// schedule three times, each a map entry per key event the group ever had.
type schedMemo struct {
	enc []byte // not modified: a record's bytes are replaced, never written
	s   *epoch.Schedule
}

// loadSchedule is loadSchedule through the client's memo of decoded schedules.
func (t *txn) loadSchedule(g *storage.GroupRecord) (*epoch.Schedule, error) {
	if sm, ok := t.c.scheds[g.ID]; ok && len(g.Schedule) > 0 && bytes.Equal(sm.enc, g.Schedule) {
		if unsafe.SliceData(sm.enc) != unsafe.SliceData(g.Schedule) {
			sm.enc = g.Schedule // the record's (the view's) bytes: one copy live, not two
			t.c.scheds[g.ID] = sm
		}
		return sm.s.Clone(), nil
	}
	s, err := loadSchedule(g)
	if err != nil {
		return nil, err
	}
	// The record's bytes, not a copy (as metaMemo's): replaced, never written in place.
	t.c.scheds[g.ID] = schedMemo{enc: g.Schedule, s: s.Clone()}
	return s, nil
}
