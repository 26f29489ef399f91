package tui

import "unicode/utf8"

// KeyKind is the kind of a key press.
type KeyKind int

// Keys the chat understands.
const (
	KeyRune KeyKind = iota
	KeyEnter
	KeyBackspace
	KeyDelete
	KeyLeft
	KeyRight
	KeyHome
	KeyEnd
	KeyUp
	KeyDown
	KeyPgUp
	KeyPgDn
	KeyCtrlC
	KeyCtrlD
	KeyCtrlU
	KeyCtrlL
	KeyEsc
)

// Key is one key press.
type Key struct {
	Kind KeyKind
	Rune rune // KeyRune
}

// DecodeKeys splits terminal input into keys. An escape sequence is expected whole in
// one chunk (terminals write it at once); unknown sequences are ignored. It returns the
// keys and the bytes of an incomplete UTF-8 sequence at the end, to prepend to the next
// chunk.
func DecodeKeys(b []byte) (keys []Key, rest []byte) {
	for len(b) > 0 {
		c := b[0]
		switch {
		case c == 0x1b:
			k, n := decodeEscape(b)
			if k != nil {
				keys = append(keys, *k)
			}
			b = b[n:]
			continue
		case c == '\r' || c == '\n':
			keys = append(keys, Key{Kind: KeyEnter})
			if c == '\r' && len(b) > 1 && b[1] == '\n' {
				b = b[1:]
			}
		case c == 0x7f || c == 0x08:
			keys = append(keys, Key{Kind: KeyBackspace})
		case c == 0x03:
			keys = append(keys, Key{Kind: KeyCtrlC})
		case c == 0x04:
			keys = append(keys, Key{Kind: KeyCtrlD})
		case c == 0x15:
			keys = append(keys, Key{Kind: KeyCtrlU})
		case c == 0x0c:
			keys = append(keys, Key{Kind: KeyCtrlL})
		case c == 0x01:
			keys = append(keys, Key{Kind: KeyHome})
		case c == 0x05:
			keys = append(keys, Key{Kind: KeyEnd})
		case c < 0x20:
			// other control characters: ignored
		default:
			if !utf8.FullRune(b) {
				return keys, append([]byte(nil), b...)
			}
			r, n := utf8.DecodeRune(b)
			if r != utf8.RuneError || n > 1 {
				keys = append(keys, Key{Kind: KeyRune, Rune: r})
			}
			b = b[n:]
			continue
		}
		b = b[1:]
	}
	return keys, nil
}

// decodeEscape decodes the escape sequence at the start of b (b[0] == ESC).
func decodeEscape(b []byte) (*Key, int) {
	if len(b) == 1 {
		return &Key{Kind: KeyEsc}, 1
	}
	if b[1] != '[' && b[1] != 'O' {
		return &Key{Kind: KeyEsc}, 1
	}
	// CSI / SS3: parameters then a final byte in 0x40..0x7e.
	i := 2
	for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
		i++
	}
	if i >= len(b) {
		return nil, len(b)
	}
	params, final := string(b[2:i]), b[i]
	n := i + 1
	switch final {
	case 'A':
		return &Key{Kind: KeyUp}, n
	case 'B':
		return &Key{Kind: KeyDown}, n
	case 'C':
		return &Key{Kind: KeyRight}, n
	case 'D':
		return &Key{Kind: KeyLeft}, n
	case 'H':
		return &Key{Kind: KeyHome}, n
	case 'F':
		return &Key{Kind: KeyEnd}, n
	case '~':
		switch params {
		case "1", "7":
			return &Key{Kind: KeyHome}, n
		case "4", "8":
			return &Key{Kind: KeyEnd}, n
		case "3":
			return &Key{Kind: KeyDelete}, n
		case "5":
			return &Key{Kind: KeyPgUp}, n
		case "6":
			return &Key{Kind: KeyPgDn}, n
		}
	}
	return nil, n
}
