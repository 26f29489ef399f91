package doubleratchet

import "testing"

func TestCanonicalX25519(t *testing.T) {
	p := [32]byte{0xed, 31: 0x7f} // bytes 1..30 filled below: 2^255-19
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	belowP := p
	belowP[0] = 0xec
	midByte := p
	midByte[15] = 0xfe
	for _, c := range []struct {
		u    [32]byte
		want bool
	}{
		{[32]byte{}, true}, {[32]byte{9}, true}, {belowP, true}, {midByte, true},
		{p, false}, {[32]byte{0xff, 1: 0xff, 31: 0x7f}, true}, {[32]byte{31: 0x80}, false},
	} {
		if got := canonicalX25519(&c.u); got != c.want {
			t.Errorf("canonicalX25519(%x) = %v", c.u, got)
		}
	}
}
