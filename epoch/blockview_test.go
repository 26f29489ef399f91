package epoch

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"
)

// sameView reports how view (ParseKeyBlockView) differs from b (ParseKeyBlock) of the
// same encoding enc, "" if not at all: the same header, number of slots, hints in order,
// the same slot found for every hint and for absent, a re-encoding byte for byte.
func sameView(view, b *KeyBlock, enc []byte, absent [HintSize]byte) string {
	if view.Slots != nil {
		return "a view has slots"
	}
	x, y := *view, *b
	x.Slots, y.Slots = nil, nil
	x.view, x.enc, x.count, x.hints = false, nil, 0, nil
	if !reflect.DeepEqual(x, y) {
		return "headers differ"
	}
	if view.SlotCount() != len(b.Slots) || b.SlotCount() != len(b.Slots) {
		return "slot counts differ"
	}
	if !bytes.Equal(view.AppendHints(nil), b.AppendHints(nil)) || len(b.AppendHints(nil)) != len(b.Slots)*HintSize {
		return "hints differ"
	}
	for i := range b.Slots {
		if !bytes.Equal(view.AppendHints(nil)[i*HintSize:(i+1)*HintSize], b.Slots[i].Hint[:]) {
			return "hints out of order"
		}
	}
	hs := b.AppendHints(nil)
	hs = append(hs, absent[:]...)
	for i := 0; i < len(hs); i += HintSize {
		h := [HintSize]byte(hs[i:])
		s1, ok1 := view.Find(h)
		s2, ok2 := b.Find(h)
		if ok1 != ok2 || ok1 && !reflect.DeepEqual(*s1, *s2) {
			return "a slot found differs"
		}
	}
	again, err := view.MarshalBinary()
	if err != nil || !bytes.Equal(again, enc) {
		return "a view re-encodes otherwise"
	}
	return ""
}

// TestParseKeyBlockView: a block of 1000 slots of every kind (a hint twice among them)
// parsed as a view is the block ParseKeyBlock returns (sameView), and the view's parse
// allocates less than a tenth of the slots a parse materialises (issue 13: 72 KB per
// key event at 1000 installations); finding a slot allocates only that slot. Every cut
// of the encoding and a slot of unknown kind are refused with ParseKeyBlock's error.
func TestParseKeyBlockView(t *testing.T) {
	g := testID("group")
	b := NewRekey(g, Installation{1}, [NonceSize]byte{}, mustFrontier(t, testID("a")))
	for i := range 1000 {
		b.Slots = append(b.Slots, Slot{Hint: SlotHint(b.Event, Installation{byte(i), byte(i >> 8)}), Kind: byte(i % 3),
			X3DHHeader: bytes.Repeat([]byte{byte(i)}, 40*(i%3)), Message: bytes.Repeat([]byte{byte(i >> 3)}, 91+i%5)})
	}
	b.Slots[700].Hint = b.Slots[300].Hint // the first is found, by either
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	full, err := ParseKeyBlock(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	view, err := ParseKeyBlockView(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameView(view, full, enc, [HintSize]byte{0xff}); d != "" {
		t.Fatal(d)
	}
	slotBytes := uint64(len(full.Slots)) * uint64(reflect.TypeFor[Slot]().Size())
	// With its hints kept (one pass): the same block, its hints the lent buffer's.
	lent := make([]byte, 0, 1000*HintSize)
	withHints, hints, err := ParseKeyBlockViewHints(g, enc, lent)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameView(withHints, full, enc, [HintSize]byte{0xff}); d != "" {
		t.Fatal("with hints: " + d)
	}
	if !bytes.Equal(hints, full.AppendHints(nil)) || unsafe.SliceData(hints) != unsafe.SliceData(lent) {
		t.Fatal("the hints returned are not the block's, in the lent buffer")
	}
	if n := bytesAllocated(func() { _, _, _ = ParseKeyBlockViewHints(g, enc, lent) }); n > slotBytes/10 {
		t.Errorf("a view's parse with a lent hint buffer allocated %d bytes", n)
	}
	if s, ok := withHints.Find(b.Slots[300].Hint); !ok || !bytes.Equal(s.Message, b.Slots[300].Message) {
		t.Fatal("with hints: the first of two slots with one hint is not the one found")
	}
	if s, ok := view.Find(b.Slots[300].Hint); !ok || !bytes.Equal(s.Message, b.Slots[300].Message) {
		t.Fatal("the first of two slots with one hint is not the one found")
	}
	if n := bytesAllocated(func() { _, _ = ParseKeyBlockView(g, enc) }); n > slotBytes/10 {
		t.Errorf("a view's parse allocated %d bytes (the slots take %d)", n, slotBytes)
	}
	h := b.Slots[999].Hint
	if n := testing.AllocsPerRun(20, func() { _, _ = view.Find(h) }); n > 1 {
		t.Errorf("%v allocations to find a slot", n)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = view.Find([HintSize]byte{0xff}) }); n != 0 {
		t.Errorf("%v allocations to find no slot", n)
	}
	check := func(what string, enc []byte) {
		t.Helper()
		_, err1 := ParseKeyBlock(g, enc)
		v, err2 := ParseKeyBlockView(g, enc)
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() || v != nil {
			t.Fatalf("%s: ParseKeyBlock %v, ParseKeyBlockView %v", what, err1, err2)
		}
		v, _, err3 := ParseKeyBlockViewHints(g, enc, nil)
		if err3 == nil || err3.Error() != err1.Error() || v != nil {
			t.Fatalf("%s: ParseKeyBlock %v, ParseKeyBlockViewHints %v", what, err1, err3)
		}
	}
	for _, n := range []int{0, 1, b.HeaderSize() - 1} {
		check("header cut", enc[:n])
	}
	for _, n := range []int{b.HeaderSize() + 10, len(enc) / 2, len(enc) - 1} { // the slots cut, their length told
		check("slots cut", fixSlotsLen(t, bytes.Clone(enc[:n]), b.HeaderSize()))
	}
	bad := bytes.Clone(enc)
	bad[b.HeaderSize()+HintSize] = 9 // the first slot's kind
	check("kind", bad)
}
