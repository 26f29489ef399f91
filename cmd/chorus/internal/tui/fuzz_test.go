package tui

import (
	"testing"
	"unicode/utf8"
)

// FuzzDecodeKeys: any terminal input decodes without panicking, into at most one key per
// byte, and an incomplete rune is only ever carried over from the end.
func FuzzDecodeKeys(f *testing.F) {
	for _, s := range []string{"hello\r", "\x1b[5~\x1b[A", "é✓", "\xe2\x9c", "\x1b[", "\x1b[1;2;3;4;5X", "\r\n\x7f\x03"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, rest := DecodeKeys(b)
		if len(keys) > len(b) {
			t.Fatalf("%d keys from %d bytes", len(keys), len(b))
		}
		if len(rest) >= utf8.UTFMax {
			t.Fatalf("carried %d bytes", len(rest))
		}
		for _, k := range keys {
			if k.Kind == KeyRune && (k.Rune < 0x20 || !utf8.ValidRune(k.Rune)) {
				t.Fatalf("bad rune key %q", k.Rune)
			}
		}
	})
}

// FuzzVT: the test terminal survives any output and keeps its size.
func FuzzVT(f *testing.F) {
	for _, s := range []string{"\x1b[2;3Hab", "\x1b[?1049h\x1b[2J", "\x1b[999;999Hx", "\x1b[0;0H\x1b[K", "\x1b", "✓\n\n\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := NewVT(10, 4)
		v.Write(b)
		v.Write(b)
		lines := v.Lines()
		if len(lines) != 4 {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if utf8.RuneCountInString(l) > 10 {
				t.Fatalf("line %q wider than the screen", l)
			}
		}
	})
}
