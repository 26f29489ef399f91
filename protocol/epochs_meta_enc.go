// Key schedule v2, bookkeeping encoding: epochMeta as encoding/json writes it, written
// directly (issue 13: a key event encoded the bookkeeping through reflection twice, its
// hex ids escaped byte by byte; it cost more than the key schedule's own work).

package protocol

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// encode returns m's encoding: the bytes json.Marshal(m) returns (stored records, the
// memos keyed by encoding and older readers see no difference; TestEpochMetaEncoding).
func (m *epochMeta) encode() ([]byte, error) {
	b := make([]byte, 0, m.sizeHint())
	var spans []coverageSpan // where each coverage entry's fields are in b
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(m.V), 10)
	if len(m.Departs) > 0 {
		b = appendJSONStrings(append(b, `,"d":`...), m.Departs)
	}
	if len(m.Covered) > 0 {
		b = append(b, `,"c":{`...)
		for i, k := range slices.Sorted(maps.Keys(m.Covered)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			if cv := m.Covered[k]; cv == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '{')
				at := len(b)
				b = cv.appendFields(b)
				spans = append(spans, coverageSpan{cv, at, len(b)})
				b = append(b, '}')
			}
		}
		b = append(b, '}')
	}
	if len(m.Parts) > 0 {
		b = append(b, `,"p":{`...)
		for i, k := range slices.Sorted(maps.Keys(m.Parts)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			pc := m.Parts[k]
			if pc == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(pc.encodeFields(append(b, '{')), `,"s":`...)
			if pc.Seen == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, s := range pc.Seen {
					if j > 0 {
						b = append(b, ',')
					}
					b = strconv.AppendUint(b, uint64(s), 10)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if len(m.Uncovered) > 0 {
		b = append(b, `,"u":[`...)
		for i := range m.Uncovered {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONBytesArray(b, m.Uncovered[i][:])
		}
		b = append(b, ']')
	}
	if len(m.Epochs) > 0 {
		b = appendJSONStrings(append(b, `,"e":`...), m.Epochs)
	}
	if len(m.Kept) > 0 {
		b = append(b, `,"k":[`...)
		for i := range m.Kept {
			k := &m.Kept[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(b, `{"i":`...), k.ID)
			if len(k.Prev) > 0 {
				b = appendJSONStrings(append(b, `,"p":`...), k.Prev)
			}
			b = appendJSONString(append(b, `,"s":`...), k.Seed)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	for _, sp := range spans {
		sp.cv.enc = b[sp.at:sp.end:sp.end]
	}
	return b, nil
}

// coverageSpan is where a coverage entry's fields are in an encoding.
type coverageSpan struct {
	cv      *coverage
	at, end int
}

// sizeHint estimates the length of m's encoding.
func (m *epochMeta) sizeHint() int {
	n := 64 + 70*(len(m.Departs)+len(m.Epochs)) + 220*len(m.Kept) + 64*len(m.Uncovered)
	for _, cv := range m.Covered {
		if cv != nil {
			n += 200 + (len(cv.Hints)+2)*4/3 + 68*len(cv.HexHints) + 32*len(cv.Adds)
		}
	}
	for _, pc := range m.Parts {
		if pc != nil {
			n += 200 + (len(pc.Hints)+2)*4/3 + 68*len(pc.HexHints) + 32*len(pc.Adds) + 6*len(pc.Seen)
		}
	}
	return n
}

// appendFields appends cv's fields (without braces) as encoding/json writes them, from
// cv.enc once encoded (entries are replaced, never modified: a frontier event's hints were
// encoded again for every key event that kept it, twice for a removal's). encode then
// points cv.enc at the fields in the encoding it returns, which the record stores: the
// entry holds no copy of its own (issue 16: 21 KB a client in a group of 1000). It
// relies on a record's bookkeeping bytes being replaced, never written in place
// (groupStateView), and on the capacity it gives cv.enc, which ends with the fields: an
// append to cv.enc copies.
func (cv *coverage) appendFields(b []byte) []byte {
	if cv.enc == nil {
		return cv.encodeFields(b)
	}
	return append(b, cv.enc...)
}

func (cv *coverage) encodeFields(b []byte) []byte {
	b = appendJSONBytesArray(append(b, `"a":`...), cv.Author[:])
	if cv.Departed {
		b = append(b, `,"x":true`...)
	}
	if len(cv.Hints) > 0 {
		b = append(b, `,"hs":"`...)
		b = base64.StdEncoding.AppendEncode(b, cv.Hints)
		b = append(b, '"')
	}
	if len(cv.HexHints) > 0 {
		b = appendJSONStrings(append(b, `,"h":`...), cv.HexHints)
	}
	if len(cv.Adds) > 0 {
		b = appendJSONStrings(append(b, `,"n":`...), cv.Adds)
	}
	if cv.HintsV3 {
		b = append(b, `,"v3":true`...)
	}
	return b
}

// appendJSONBytesArray appends a byte array (not slice) as encoding/json writes it: an
// array of numbers.
func appendJSONBytesArray(b, v []byte) []byte {
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(x), 10)
	}
	return append(b, ']')
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// jsonPlainLo and jsonPlainHi are the set of the ASCII bytes encoding/json copies as they
// are (printable, not '"', '\\', '<', '>', '&'), as a bitmap of two words.
const (
	jsonPlainLo = 0xffff_ffff_0000_0000 &^ (1<<'"' | 1<<'<' | 1<<'>' | 1<<'&')
	jsonPlainHi = 0x7fff_ffff_ffff_ffff &^ (1 << ('\\' - 64))
)

// appendJSONString appends s as encoding/json writes it: copied when it holds only
// printable ASCII that needs no escape (hex ids, accounts), through encoding/json
// otherwise.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		mask := uint64(jsonPlainLo)
		if c >= 64 {
			mask = jsonPlainHi
		}
		if c >= 0x80 || mask>>(c&63)&1 == 0 {
			e, _ := json.Marshal(s) // a string always encodes
			return append(b, e...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
