package epoch

import (
	"bytes"
	"testing"
)

// BenchmarkKeyBlockFind: a receiver's parse of a 1000-slot rekey block and the find of its
// slot (the last) — materialised into a slice of its own (ParseKeyBlockInto) against a
// view (ParseKeyBlockView) — then its coverage hints.
func BenchmarkKeyBlockFind(b *testing.B) {
	g := testID("group")
	kb := NewRekey(g, Installation{1}, [NonceSize]byte{}, Frontier{testID("a")})
	for i := range 1000 {
		kb.Slots = append(kb.Slots, Slot{Hint: SlotHint(kb.Event, Installation{byte(i), byte(i >> 8)}), Kind: SlotSession,
			Message: bytes.Repeat([]byte{2}, 91)})
	}
	enc, err := kb.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	h := kb.Slots[999].Hint
	hints := make([]byte, 0, 1000*HintSize)
	b.Run("into", func(b *testing.B) {
		var slots []Slot
		b.ReportAllocs()
		for range b.N {
			p, err := ParseKeyBlockInto(g, enc, slots)
			if err != nil {
				b.Fatal(err)
			}
			slots = p.Slots[:0]
			if _, ok := p.Find(h); !ok {
				b.Fatal("not found")
			}
			hints = p.AppendHints(hints[:0])
		}
	})
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := ParseKeyBlockView(g, enc)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := p.Find(h); !ok {
				b.Fatal("not found")
			}
			hints = p.AppendHints(hints[:0])
		}
	})
	b.Run("view+hints", func(b *testing.B) {
		b.ReportAllocs()
		lent := make([]byte, 0, 1000*HintSize)
		for range b.N {
			p, kept, err := ParseKeyBlockViewHints(g, enc, lent)
			if err != nil {
				b.Fatal(err)
			}
			lent = kept
			if _, ok := p.Find(h); !ok {
				b.Fatal("not found")
			}
			hints = p.AppendHints(hints[:0])
		}
	})
}
