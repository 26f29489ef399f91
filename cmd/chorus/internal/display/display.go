// Package display makes untrusted text safe to print on a terminal: message texts,
// names, descriptions and notices come from other people, and a terminal acts on the
// control sequences in what it prints (cursor moves that fake lines and senders, OSC 52
// writing the clipboard, bidi overrides that reorder what is shown). Every text-mode
// output of the chorus command passes such text through Clean; --json output carries
// the stored text unchanged.
package display

import (
	"strings"
	"unicode/utf8"
)

// Replacement stands for a removed control; newlines show as Newline.
const (
	Replacement = '\ufffd'
	Newline     = '⏎'
)

// Clean returns s for display on one line: C0 and C1 controls, DEL, bidi controls
// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and invalid UTF-8 become
// U+FFFD; a tab becomes a space; line breaks (LF, U+2028, U+2029) become ⏎ so that a
// text cannot start a line of its own.
func Clean(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(Replacement)
		case r == '\t':
			b.WriteByte(' ')
		case r == '\n', r == 0x2028, r == 0x2029:
			b.WriteRune(Newline)
		case control(r):
			b.WriteRune(Replacement)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safe reports whether Clean would return s unchanged (the common case: no allocation).
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			for _, r := range s[i:] {
				if r == utf8.RuneError || r == '\t' || r == 0x2028 || r == 0x2029 || control(r) {
					return false
				}
			}
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// control reports the runes Clean replaces by U+FFFD.
func control(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
