package app

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestQRFormRoundTrip(t *testing.T) {
	for n := 1; n <= 40; n++ {
		raw := bytes.Repeat([]byte{0xff}, n)
		raw[0] = 0
		code := "chorus1:" + base64.RawURLEncoding.EncodeToString(raw)
		p, d, ok := QRForm(code)
		if !ok || p != "CHORUS1:" || strings.Trim(d, "0123456789") != "" {
			t.Fatalf("%d bytes: %q %q %v", n, p, d, ok)
		}
		back, err := NormalizeCode(p + d)
		if err != nil || back != code {
			t.Fatalf("%d bytes: %q %v, want %q", n, back, err, code)
		}
	}
	link := "chorus-link1:" + base64.RawURLEncoding.EncodeToString([]byte("0123456789"))
	p, d, _ := QRForm(link)
	if back, err := NormalizeCode(p + d); err != nil || back != link {
		t.Fatalf("link: %q %v", back, err)
	}
	for _, bad := range []string{"CHORUS1:", "CHORUS1:12", "CHORUS1:999", "CHORUS1:12a45", "CHORUS1:99999999999999999"} {
		if _, err := NormalizeCode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got, err := NormalizeCode("chorus1:AAAA"); err != nil || got != "chorus1:AAAA" {
		t.Fatalf("plain code changed: %q %v", got, err)
	}
}

func FuzzNormalizeCode(f *testing.F) {
	f.Add("CHORUS1:00025500000000000000065535")
	f.Add("CHORUS-LINK1:123")
	f.Fuzz(func(t *testing.T, s string) {
		code, err := NormalizeCode(s)
		if err != nil {
			return
		}
		if code == s {
			return
		}
		p, d, ok := QRForm(code)
		if !ok || p+d != s {
			// Leading zeros inside a group are the only freedom: the canonical form
			// must decode to the same code.
			if again, err := NormalizeCode(p + d); err != nil || again != code {
				t.Fatalf("%q -> %q -> %q%q", s, code, p, d)
			}
		}
	})
}
