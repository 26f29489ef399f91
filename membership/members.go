package membership

import (
	"fmt"
	"iter"
	"unsafe"
)

// Members is an immutable list of member ids (PublicKeyString's form for a key, any other
// string as it was signed): State.Members, Base.Members and Event.Members. The zero value
// is the empty list. It is the API's boundary for member ids: inside, a key is held as its
// 65 bytes (04 || X || Y) and rendered as hex by At only (issue 16: a large group's hex ids
// were most of a client's heap). Key gives an id's internal form for comparisons and maps
// without rendering it.
type Members struct {
	// ids are the internal ids (see idOf); nil when ptrs or keys hold them.
	ids []string
	// ptrs point at the 65-byte keys of a list of keys only (a state's list: 8 bytes a
	// member, sharing the events' keys), when ids is nil.
	ptrs []*[keyLength]byte
	// keys are n × 65-byte keys, each starting with 0x04 (a compact event's member
	// entries: no list of its own), when ids and ptrs are nil.
	keys []byte
}

// An internal id is a key string in PublicKeyString's form held as its 65 bytes (the first
// 0x04), or any other string s held as 0xff || s (never 65 bytes starting with 0x04, and
// 0xff never starts a UTF-8 string): one id, one internal form, and back.

// idOf returns the internal form of id (a new string for a key).
func idOf(id string) string {
	if len(id) == PublicKeyStringLength && id[:4] == "0x04" {
		var raw [keyLength]byte
		if decodeLowerHex(raw[:], unsafe.Slice(unsafe.StringData(id[2:]), len(id)-2)) {
			return string(raw[:])
		}
	}
	return "\xff" + id
}

// isKeyID reports whether internal id k is a key's 65 bytes.
func isKeyID(k string) bool { return len(k) == keyLength && k[0] == 4 }

// hexOf returns the id an internal id stands for (a new string for a key).
func hexOf(k string) string {
	if isKeyID(k) {
		return keyString(unsafe.Slice(unsafe.StringData(k), len(k)))
	}
	return k[1:]
}

// idsOf returns the internal forms of ids (nil when empty).
func idsOf(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = idOf(id)
	}
	return out
}

// hexesOf returns the ids internal ids stand for (nil when empty).
func hexesOf(ks []string) []string {
	if len(ks) == 0 {
		return nil
	}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = hexOf(k)
	}
	return out
}

// MembersOf returns the list of ids, in order (ids is not retained).
func MembersOf(ids ...string) Members { return membersOwn(idsOf(ids)) }

// membersOwn makes ks, internal ids, the list: as pointers to their bytes when they are
// all keys, else ks itself (not to be changed after).
func membersOwn(ks []string) Members {
	if len(ks) == 0 {
		return Members{}
	}
	for _, k := range ks {
		if !isKeyID(k) {
			return Members{ids: ks}
		}
	}
	ptrs := make([]*[keyLength]byte, len(ks))
	for i, k := range ks {
		ptrs[i] = (*[keyLength]byte)(unsafe.Pointer(unsafe.StringData(k)))
	}
	return Members{ptrs: ptrs}
}

// membersOfKeys returns the list of the 65-byte keys in keys (shared: never changed); keys
// that do not all start with 0x04 get a list of internal ids.
func membersOfKeys(keys []byte) Members {
	if len(keys) == 0 {
		return Members{}
	}
	for i := 0; i < len(keys); i += keyLength {
		if keys[i] != 4 {
			ids := make([]string, len(keys)/keyLength)
			for j := range ids {
				ids[j] = idOf(keyString(keys[j*keyLength : (j+1)*keyLength]))
			}
			return Members{ids: ids}
		}
	}
	return Members{keys: keys}
}

// Len returns the number of ids.
func (l Members) Len() int {
	switch {
	case l.ids != nil:
		return len(l.ids)
	case l.ptrs != nil:
		return len(l.ptrs)
	}
	return len(l.keys) / keyLength
}

// At returns id i (0 ≤ i < Len), rendered: a new string for a key.
func (l Members) At(i int) string { return hexOf(l.Key(i)) }

// Key returns the internal form of id i: keys are equal when the ids are, and nothing is
// rendered (for maps and comparisons in a large group; IDKey gives an id's key). It
// shares the list's bytes. A list of pointers is not dereferenced here (&ptrs[i][0] would
// load the key's first byte as a nil check: a walk comparing two lists that share their
// keys, which compare by pointer, then touched every member's key, a cache miss each
// after a collection — issue 13's key event walks a 1000-member list a few times).
func (l Members) Key(i int) string {
	switch {
	case l.ids != nil:
		return l.ids[i]
	case l.ptrs != nil:
		return unsafe.String((*byte)(unsafe.Pointer(l.ptrs[i])), keyLength) // never nil (membersOwn)
	}
	k := l.keys[i*keyLength : (i+1)*keyLength]
	return unsafe.String(&k[0], keyLength)
}

// IDKey returns the key (Members.Key) of id.
func IDKey(id string) string { return idOf(id) }

// AppendIDKey appends the key (Members.Key) of id to dst: a lookup without allocating.
func AppendIDKey(dst []byte, id string) []byte {
	if len(id) == PublicKeyStringLength && id[:4] == "0x04" {
		var raw [keyLength]byte
		if decodeLowerHex(raw[:], unsafe.Slice(unsafe.StringData(id[2:]), len(id)-2)) {
			return append(dst, raw[:]...)
		}
	}
	return append(append(dst, 0xff), id...)
}

// KeyID returns the id a key (Members.Key, IDKey) stands for.
func KeyID(key string) string { return hexOf(key) }

// All returns an iterator over the indices and ids (rendered, as At), in order.
func (l Members) All() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for i := range l.Len() {
			if !yield(i, l.At(i)) {
				return
			}
		}
	}
}

// Contains reports whether id is in the list.
func (l Members) Contains(id string) bool { return l.Index(id) >= 0 }

// Index returns the index of id in the list, or -1.
func (l Members) Index(id string) int {
	var buf [keyLength + 1]byte
	k := AppendIDKey(buf[:0], id)
	return l.indexKey(unsafe.String(unsafe.SliceData(k), len(k)))
}

// indexKey returns the index of internal id k, or -1.
func (l Members) indexKey(k string) int {
	for i := range l.Len() {
		if l.Key(i) == k {
			return i
		}
	}
	return -1
}

// Strings returns the ids as a new slice (nil when empty).
func (l Members) Strings() []string {
	if l.Len() == 0 {
		return nil
	}
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// Equal reports whether both lists hold the same ids in the same order.
func (l Members) Equal(o Members) bool {
	n := l.Len()
	if n != o.Len() {
		return false
	}
	if n == 0 {
		return true
	}
	switch {
	case l.keys != nil && o.keys != nil:
		return unsafe.SliceData(l.keys) == unsafe.SliceData(o.keys) || string(l.keys) == string(o.keys)
	case l.ids != nil && o.ids != nil && unsafe.SliceData(l.ids) == unsafe.SliceData(o.ids),
		l.ptrs != nil && o.ptrs != nil && unsafe.SliceData(l.ptrs) == unsafe.SliceData(o.ptrs):
		return true
	case l.ptrs != nil && o.ptrs != nil: // by pointer first, as Dropped
		for i, p := range l.ptrs {
			if q := o.ptrs[i]; q != p && *q != *p {
				return false
			}
		}
		return true
	}
	for i := range n {
		if l.Key(i) != o.Key(i) {
			return false
		}
	}
	return true
}

// Dropped walks o beside l in order and returns the indices in l of the ids o does not
// match there (appended to dst) and the number of o's ids matched: when matched ==
// l.Len()-len(dropped), o is l without the dropped ids, in l's order, followed by the
// o.Len()-matched others. Key by key as the walk `o.Key(j) == l.Key(i)` would; two lists
// of pointers compare by pointer first (a state's lists share their keys: no key is read,
// and no Members is copied per id — issue 13: three such walks over a 1000-member list
// were ≈ 3 % of a key event's receive).
func (l Members) Dropped(o Members, dst []int) (dropped []int, matched int) {
	j := 0
	if l.ptrs != nil && o.ptrs != nil {
		b := o.ptrs
		for i, p := range l.ptrs {
			if j < len(b) && (b[j] == p || *b[j] == *p) {
				j++
			} else {
				dst = append(dst, i)
			}
		}
		return dst, j
	}
	for i := range l.Len() {
		if j < o.Len() && o.Key(j) == l.Key(i) {
			j++
		} else {
			dst = append(dst, i)
		}
	}
	return dst, j
}

// appendKeys appends the keys (Key) of ids lo to hi-1 to dst: for a list of pointers in
// one loop that neither reads the keys nor copies l per id.
func (l Members) appendKeys(dst []string, lo, hi int) []string {
	if l.ptrs != nil {
		for _, p := range l.ptrs[lo:hi] {
			dst = append(dst, unsafe.String((*byte)(unsafe.Pointer(p)), keyLength))
		}
		return dst
	}
	for i := lo; i < hi; i++ {
		dst = append(dst, l.Key(i))
	}
	return dst
}

// keyList returns the internal ids as a slice: the list's own, or, for a list of keys, a
// new one whose strings share its bytes.
func (l Members) keyList() []string {
	if l.ids != nil || l.Len() == 0 {
		return l.ids
	}
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.Key(i)
	}
	return out
}

// String renders the list as fmt renders a []string.
func (l Members) String() string { return fmt.Sprint(l.Strings()) }

// each returns an iterator over the indices and internal ids (shared, nothing rendered).
func (l Members) each() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for i := range l.Len() {
			if !yield(i, l.Key(i)) {
				return
			}
		}
	}
}
