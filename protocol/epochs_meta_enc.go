// Key schedule v2, bookkeeping encoding: epochMeta in a binary form (issue 13: as JSON, a
// key event spent more on its bookkeeping — hex ids checked byte by byte for escapes, a
// coverage's 1000 slot hints as base64 — than on the key schedule's own work; the record
// was ≈ 28 KB at 1000 members, ≈ 21 KB now). Records stored as JSON before still load
// (loadMeta); the first byte tells the two apart: metaBinary, which JSON never starts with.
//
// The encoding is the engine's own (the column epoch_meta, spec › storage, holds whatever
// this file writes): metaBinary, then uvarint V, strs Departs, uvarint n and n × (str key,
// cov) Covered (keys ascending), uvarint n and n × (str key, part) Parts (keys ascending),
// uvarint n and n × InstallationID Uncovered, strs Epochs, uvarint n and n × (str ID, strs
// Prev, str Seed) Kept; then, only when Refused is not empty, strs Refused (review 20;
// a record without it is one stored before, or with none); nothing after. A str is uvarint 0 then 32 bytes for a 64-character
// lowercase hex string (an id: it decodes to its hex form), or uvarint len+1 then its
// bytes; strs is uvarint n then n × str, and decodes to nil when n is 0 (as the JSON
// fields' omitempty did). A cov is a flags byte (covNil: no entry, nothing follows;
// covDeparted, covV3, covOuter; no other bit), Author, uvarint length and the packed hints (a whole
// number of hints, sorted, distinct), strs HexHints, strs Adds, then, only with covOuter (set
// when Outer is not empty: fix 34b; records stored before have no entry with it), str Outer. A part is a cov, then
// uvarint 0 (Seen nil) or n+1 and n × big-endian uint16.

package protocol

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"slices"

	"github.com/chorus-im/chorus/epoch"
)

// metaBinary is the first byte of the binary encoding (a JSON record starts with '{').
const metaBinary = 0x02

const (
	covNil      = 0x80 // a nil entry (a JSON null)
	covDeparted = 0x01
	covV3       = 0x02
	covOuter    = 0x04 // a str Outer follows Adds (fix 34b; never set by the encoders before)
)

var errMetaEncoding = errors.New("protocol: bad epoch bookkeeping encoding")

// encode returns m's binary encoding.
func (m *epochMeta) encode() ([]byte, error) {
	b := make([]byte, 0, m.sizeHint())
	var spans []coverageSpan // where each coverage entry's fields are in b
	b = append(b, metaBinary)
	b = binary.AppendUvarint(b, uint64(m.V))
	b = appendMetaStrs(b, m.Departs)
	b = binary.AppendUvarint(b, uint64(len(m.Covered)))
	for _, k := range slices.Sorted(maps.Keys(m.Covered)) {
		b = appendMetaStr(b, k)
		if cv := m.Covered[k]; cv == nil {
			b = append(b, covNil)
		} else {
			at := len(b)
			b = cv.appendFields(b)
			spans = append(spans, coverageSpan{cv, at, len(b)})
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.Parts)))
	for _, k := range slices.Sorted(maps.Keys(m.Parts)) {
		b = appendMetaStr(b, k)
		pc := m.Parts[k]
		if pc == nil {
			b = append(b, covNil)
			continue
		}
		b = pc.encodeFields(b)
		if pc.Seen == nil {
			b = append(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(pc.Seen))+1)
		for _, s := range pc.Seen {
			b = binary.BigEndian.AppendUint16(b, s)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.Uncovered)))
	for i := range m.Uncovered {
		b = append(b, m.Uncovered[i][:]...)
	}
	b = appendMetaStrs(b, m.Epochs)
	b = binary.AppendUvarint(b, uint64(len(m.Kept)))
	for i := range m.Kept {
		k := &m.Kept[i]
		b = appendMetaStr(b, k.ID)
		b = appendMetaStrs(b, k.Prev)
		b = appendMetaStr(b, k.Seed)
	}
	if len(m.Refused) > 0 {
		b = appendMetaStrs(b, m.Refused)
	}
	for _, sp := range spans {
		sp.cv.enc = b[sp.at:sp.end:sp.end]
		sp.cv.aliasHints()
	}
	return b, nil
}

// aliasHints points cv.Hints at the hints in cv.enc (the same bytes: the entry then holds
// no copy of them beside the record's, issue 16, and no older record).
func (cv *coverage) aliasHints() {
	const at = 1 + len(InstallationID{}) // flags, Author
	n, k := binary.Uvarint(cv.enc[at:])
	if k > 0 && n == uint64(len(cv.Hints)) && n > 0 {
		cv.Hints = hintList(cv.enc[at+k : at+k+int(n) : at+k+int(n)])
	}
}

// coverageSpan is where a coverage entry's fields are in an encoding.
type coverageSpan struct {
	cv      *coverage
	at, end int
}

// sizeHint estimates the length of m's encoding.
func (m *epochMeta) sizeHint() int {
	n := 16 + 34*(len(m.Departs)+len(m.Epochs)+len(m.Refused)) + 16*len(m.Uncovered)
	for i := range m.Kept {
		n += 34 * (3 + len(m.Kept[i].Prev))
	}
	for _, cv := range m.Covered {
		if cv != nil {
			n += 64 + len(cv.Hints) + 34*len(cv.HexHints) + 34*len(cv.Adds) + len(cv.Outer)
		}
	}
	for _, pc := range m.Parts {
		if pc != nil {
			n += 64 + len(pc.Hints) + 34*len(pc.HexHints) + 34*len(pc.Adds) + len(pc.Outer) + 2*len(pc.Seen)
		}
	}
	return n
}

// appendFields appends cv's encoding, from cv.enc once encoded (entries are replaced,
// never modified: a frontier event's hints were encoded again for every key event that
// kept it, twice for a removal's). encode then points cv.enc at the fields in the
// encoding it returns, which the record stores: the entry holds no copy of its own
// (issue 16: 21 KB a client in a group of 1000). It relies on a record's bookkeeping
// bytes being replaced, never written in place (groupStateView), and on the capacity it
// gives cv.enc, which ends with the fields: an append to cv.enc copies.
func (cv *coverage) appendFields(b []byte) []byte {
	if cv.enc == nil {
		return cv.encodeFields(b)
	}
	return append(b, cv.enc...)
}

func (cv *coverage) encodeFields(b []byte) []byte {
	var flags byte
	if cv.Departed {
		flags |= covDeparted
	}
	if cv.HintsV3 {
		flags |= covV3
	}
	if cv.Outer != "" {
		flags |= covOuter
	}
	b = append(append(b, flags), cv.Author[:]...)
	b = binary.AppendUvarint(b, uint64(len(cv.Hints)))
	b = append(b, cv.Hints...)
	b = appendMetaStrs(b, cv.HexHints)
	b = appendMetaStrs(b, cv.Adds)
	if cv.Outer != "" {
		b = appendMetaStr(b, cv.Outer)
	}
	return b
}

// appendMetaStr appends s: an id (64 lowercase hex characters) as its 32 bytes, any other
// string as it is.
func appendMetaStr(b []byte, s string) []byte {
	if len(s) == 64 {
		n := len(b)
		b = append(b, make([]byte, 33)...)
		out, bad := b[n+1:n+33], byte(0)
		for i := range out {
			hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
			bad |= hi | lo
			out[i] = hi<<4 | lo
		}
		if bad&0xf0 == 0 {
			return b
		}
		b = b[:n]
	}
	b = binary.AppendUvarint(b, uint64(len(s))+1)
	return append(b, s...)
}

// hexValue maps each lowercase hex digit to its value, any other byte to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

func appendMetaStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendMetaStr(b, s)
	}
	return b
}

// isLowerHex reports whether s holds lowercase hex digits only (what hex.EncodeToString
// writes, so that decoding gives s back).
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// metaReader reads a binary encoding; the first error sticks.
type metaReader struct {
	b   []byte
	off int
	err error
}

func (r *metaReader) fail() {
	if r.err == nil {
		r.err = errMetaEncoding
	}
	r.off = len(r.b)
}

func (r *metaReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || n > 1 && r.b[r.off+n-1] == 0 { // unreadable, or not the shortest form
		r.fail()
		return 0
	}
	r.off += n
	return v
}

// count reads a number of items each at least min bytes long (bounded by what is left).
func (r *metaReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off)/uint64(min) {
		r.fail()
		return 0
	}
	return int(n)
}

// bytes returns the next n bytes, aliasing the encoding (capacity n: an append copies).
func (r *metaReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.off {
		r.fail()
		return nil
	}
	out := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return out
}

func (r *metaReader) inst() (x InstallationID) {
	copy(x[:], r.bytes(len(x))) // zero after an error
	return x
}

func (r *metaReader) u16() uint16 {
	if b := r.bytes(2); len(b) == 2 {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *metaReader) byte() byte {
	if b := r.bytes(1); len(b) == 1 {
		return b[0]
	}
	return 0
}

func (r *metaReader) str() string {
	n := r.uvarint()
	if n == 0 {
		return hex.EncodeToString(r.bytes(32))
	}
	if n-1 > uint64(len(r.b)-r.off) {
		r.fail()
		return ""
	}
	s := string(r.bytes(int(n - 1)))
	if len(s) == 64 && isLowerHex(s) {
		r.fail() // an id is written as its 32 bytes (one encoding for each bookkeeping)
	}
	return s
}

func (r *metaReader) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// coverage reads a cov: nil for covNil. Its Hints and enc alias the encoding.
func (r *metaReader) coverage() *coverage {
	at := r.off
	flags := r.byte()
	if flags == covNil || flags&^(covDeparted|covV3|covOuter) != 0 {
		if flags != covNil {
			r.fail()
		}
		return nil
	}
	cv := &coverage{Departed: flags&covDeparted != 0, HintsV3: flags&covV3 != 0}
	cv.Author = r.inst()
	if n := r.uvarint(); n > 0 {
		if n%epoch.HintSize != 0 || n > uint64(len(r.b)-r.off) {
			r.fail()
			return nil
		}
		cv.Hints = hintList(r.bytes(int(n)))
	}
	cv.HexHints, cv.Adds = r.strs(), r.strs()
	if flags&covOuter != 0 {
		if cv.Outer = r.str(); cv.Outer == "" {
			r.fail() // written only when not empty (one encoding for each bookkeeping)
		}
	}
	if r.err != nil {
		return nil
	}
	cv.enc = r.b[at:r.off:r.off]
	return cv
}

// decodeMetaBinary decodes a binary encoding (b[0] is metaBinary). The coverage entries'
// hints and encodings alias b (a record's bookkeeping is replaced, never written in
// place). It accepts one encoding for each bookkeeping (what encode writes: shortest
// uvarints, keys ascending, ids as bytes). Hints are not checked here (loadMeta does).
func decodeMetaBinary(b []byte) (*epochMeta, error) {
	if len(b) == 0 || b[0] != metaBinary {
		return nil, errMetaEncoding
	}
	r := &metaReader{b: b, off: 1}
	m := &epochMeta{}
	v := r.uvarint()
	if v > 1<<31 {
		r.fail()
	}
	m.V = int(v)
	m.Departs = r.strs()
	if n := r.count(2); n > 0 {
		m.Covered = make(map[string]*coverage, n)
		last := ""
		for i := range n {
			k := r.str()
			if i > 0 && k <= last {
				r.fail() // keys ascending, once each
			}
			last = k
			m.Covered[k] = r.coverage()
		}
	}
	if n := r.count(2); n > 0 {
		m.Parts = make(map[string]*partCoverage, n)
		last := ""
		for i := range n {
			k := r.str()
			if i > 0 && k <= last {
				r.fail() // keys ascending, once each
			}
			last = k
			cv := r.coverage()
			if cv == nil {
				m.Parts[k] = nil
				continue
			}
			cv.enc = nil // a part's fields are not a coverage entry's
			pc := &partCoverage{coverage: *cv}
			if s := r.count(2); s > 0 {
				pc.Seen = make([]uint16, s-1)
				for i := range pc.Seen {
					pc.Seen[i] = r.u16()
				}
			}
			m.Parts[k] = pc
		}
	}
	if n := r.count(len(InstallationID{})); n > 0 {
		m.Uncovered = make([]InstallationID, n)
		for i := range m.Uncovered {
			m.Uncovered[i] = r.inst()
		}
	}
	m.Epochs = r.strs()
	if n := r.count(3); n > 0 {
		m.Kept = make([]keptSeed, n)
		for i := range m.Kept {
			m.Kept[i] = keptSeed{ID: r.str(), Prev: r.strs(), Seed: r.str()}
		}
	}
	if r.err == nil && r.off < len(b) {
		if m.Refused = r.strs(); m.Refused == nil {
			r.fail() // written only when not empty
		}
	}
	if r.err == nil && r.off != len(b) {
		r.fail()
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}
