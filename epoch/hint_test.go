package epoch

import (
	"bytes"
	"testing"
)

// TestHinter: a Hinter gives the slot hints SlotHint (version 3) and LegacySlotHint
// (version 2) give, a block's Hinter those of its version, and the version 3 hints of one
// event are distinct for distinct installations (one AES block: a permutation).
func TestHinter(t *testing.T) {
	e := testID("event")
	h, l := NewHinter(e), LegacyHinter(e)
	seen := map[[HintSize]byte]bool{}
	for i := range 2000 {
		in := Installation{byte(i), byte(i >> 8), 7}
		if h.Hint(in) != SlotHint(e, in) || l.Hint(in) != LegacySlotHint(e, in) {
			t.Fatal("a Hinter disagrees with its one-shot function")
		}
		if SlotHint(e, in) == LegacySlotHint(e, in) {
			t.Fatal("version 3 and version 2 hints agree")
		}
		if seen[h.Hint(in)] {
			t.Fatal("two installations share a version 3 hint")
		}
		seen[h.Hint(in)] = true
	}
	if SlotHint(testID("other"), Installation{1}) == SlotHint(e, Installation{1}) {
		t.Fatal("hints do not depend on the event")
	}
	kb := KeyBlock{Event: e}
	if kh := kb.Hinter(); kh.Hint(Installation{3}) != SlotHint(e, Installation{3}) {
		t.Fatal("a version 3 block's Hinter")
	}
	kb.LegacyHints = true
	if kh := kb.Hinter(); kh.Hint(Installation{3}) != LegacySlotHint(e, Installation{3}) {
		t.Fatal("a version 2 block's Hinter")
	}
}

// TestKeyBlockVersions: blocks are made as version 3 and read as such; a version 2 block
// is read (LegacyHints) and encodes as version 2 again; other versions are refused.
func TestKeyBlockVersions(t *testing.T) {
	g := testID("group")
	b := NewRekey(g, Installation{1}, [NonceSize]byte{}, mustFrontier(t, testID("a")))
	b.Slots = []Slot{{Hint: SlotHint(b.Event, Installation{2}), Kind: SlotSession, Message: []byte{1}}}
	for _, legacy := range []bool{false, true} {
		b.LegacyHints = legacy
		enc, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want := byte(BlockVersion)
		if legacy {
			want = Version
		}
		if enc[0] != want {
			t.Fatalf("legacy %v: version byte %d, want %d", legacy, enc[0], want)
		}
		p, err := ParseKeyBlock(g, enc)
		if err != nil || p.LegacyHints != legacy {
			t.Fatalf("legacy %v: parsed %v, %v", legacy, p, err)
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("legacy %v: re-encoding differs (%v)", legacy, err)
		}
		for _, v := range []byte{0, 1, 4, 0xff} {
			if _, err := ParseKeyBlock(g, append([]byte{v}, enc[1:]...)); err == nil {
				t.Fatalf("version %d accepted", v)
			}
		}
	}
}

// TestParseKeyBlockSlotsExact: a parsed block's slots are allocated at their number (a
// guess from the smallest slot size allocated about twice what 1000 slots need, issue
// 13), for every slot kind and for slots cut short.
func TestParseKeyBlockSlotsExact(t *testing.T) {
	g := testID("group")
	b := NewRekey(g, Installation{1}, [NonceSize]byte{}, mustFrontier(t, testID("a")))
	for i := range 1000 {
		b.Slots = append(b.Slots, Slot{Hint: SlotHint(b.Event, Installation{byte(i), byte(i >> 8)}), Kind: byte(i % 3),
			X3DHHeader: bytes.Repeat([]byte{1}, 40*(i%3)), Message: bytes.Repeat([]byte{2}, 91)})
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseKeyBlock(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Slots) != 1000 || cap(p.Slots) != len(p.Slots) {
		t.Fatalf("%d slots in a slice of capacity %d", len(p.Slots), cap(p.Slots))
	}
	sl := enc[b.HeaderSize():]
	for i := range len(sl) {
		if n := countSlots(sl[:i]); n > 1000 {
			t.Fatalf("%d slots counted in %d bytes", n, i)
		}
	}
}

// TestHinterNoAllocations: a hint costs no allocation (the heal check computes one per
// member installation for every key event received).
func TestHinterNoAllocations(t *testing.T) {
	h := NewHinter(testID("event"))
	var sink [HintSize]byte
	if n := testing.AllocsPerRun(100, func() { sink = h.Hint(Installation{9}) }); n != 0 {
		t.Fatalf("%v allocations per hint", n)
	}
	_ = sink
}
