package display

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// unsafe reports a rune Clean must never let through.
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"hello, world ✓ é 日本":             "hello, world ✓ é 日本",
		"a\tb":                            "a b",
		"line1\nline2":                    "line1⏎line2",
		"\x1b[2J\x1b[1;1Hbob: send money": "\ufffd[2J\ufffd[1;1Hbob: send money",
		"\x1b]52;c;ZXZpbA==\x07":          "\ufffd]52;c;ZXZpbA==\ufffd",
		"\u009b31m":                       "\ufffd31m",
		"abc\u202egnp.exe":                "abc\ufffdgnp.exe",
		"\u2066x\u2069\u200f":             "\ufffdx\ufffd\ufffd",
		"cr\rlf":                          "cr\ufffdlf",
		"bad \xff\xfe utf8":               "bad \ufffd\ufffd utf8",
		"":                                "",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzClean: the output is valid UTF-8 without a control, bidi or line-separator rune;
// Clean is idempotent and leaves safe text alone.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"hi", "\x1b]52;c;eA==\x07", "a\u202eb", "\xc2\x9b", "x\ny", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Clean(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if unsafe(r) {
				t.Fatalf("Clean(%q) = %q keeps %U", s, out, r)
			}
		}
		if Clean(out) != out {
			t.Fatalf("not idempotent on %q", s)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafe) && !strings.ContainsRune(s, '\t') && out != s {
			t.Fatalf("safe text %q changed to %q", s, out)
		}
	})
}

// BenchmarkClean: a plain 100-byte text (no allocation) and a hostile one.
func BenchmarkClean(b *testing.B) {
	plain := strings.Repeat("héllo wörld ", 8)
	hostile := strings.Repeat("a\x1b[2J\u202eb\n", 10)
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = Clean(plain)
		}
	})
	b.Run("hostile", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = Clean(hostile)
		}
	})
}
