package epoch

import (
	"testing"

	"github.com/chorus-im/chorus/internal/blake3cat"
)

// TestKeyBlockDigestWith: the digest of a key block part hashed with a lent BLAKE3 hasher
// (used before) is KeyBlockDigest's, for parts of both versions, and a
// BLAKE3 part allocates nothing (issue 13: a receiver lends the hasher its replay marker
// used; a second 18 KB hasher per key event was allocated and zeroed).
func TestKeyBlockDigestWith(t *testing.T) {
	g := ID{1}
	var nonce [NonceSize]byte
	h := new(blake3cat.Hasher)
	h.Sum256([]byte("left over from an earlier use"), make([]byte, 40000))
	for _, legacy := range []bool{false, true} {
		b := NewRekey(g, Installation{2}, nonce, Frontier{ID{3}})
		b.LegacyHints = legacy
		for i := range 200 {
			b.Slots = append(b.Slots, Slot{Hint: [HintSize]byte{byte(i), 4}, Kind: SlotSession, Message: make([]byte, 700)})
		}
		enc, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want, wantSig, err := KeyBlockDigest(g, enc)
		if err != nil {
			t.Fatal(err)
		}
		got, sig, err := KeyBlockDigestWith(h, g, enc)
		if err != nil || got != want || &sig[0] != &wantSig[0] {
			t.Fatalf("legacy %v: the digest with a lent hasher differs (%v)", legacy, err)
		}
		if legacy {
			continue
		}
		if enc[0] != BlockVersion {
			t.Fatalf("a part of version %d, want %d", enc[0], BlockVersion)
		}
		if a := testing.AllocsPerRun(10, func() { _, _, _ = KeyBlockDigestWith(h, g, enc) }); a != 0 {
			t.Errorf("%v allocations hashing a %d-byte part with a lent hasher", a, len(enc))
		}
	}
	if _, _, err := KeyBlockDigestWith(h, g, []byte{BlockVersion, 1}); err == nil {
		t.Error("a truncated part: no error")
	}
}
