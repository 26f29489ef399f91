package epoch

import (
	"bytes"
	"crypto/rand"
	"runtime"
	"testing"
)

// bytesAllocated returns the bytes f allocates (the process's: nothing else runs).
func bytesAllocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// TestOpenOuterInto: a payload opened into a buffer with room is the frame OpenOuter
// returns, written into that buffer, and the open allocates less than a tenth of the
// frame (issue 13: a 150 KB key block frame was allocated and zeroed per envelope); a
// payload no live epoch opens is refused as by OpenOuter; a buffer without room is not
// used.
func TestOpenOuterInto(t *testing.T) {
	const topic = "/waku/2/chorus-v2/proto"
	old, cur := testEpoch("into-old"), testEpoch("into")
	frame := make([]byte, 64<<10)
	rand.Read(frame)
	payload, err := SealOuter(rand.Reader, &old, topic, frame)
	if err != nil {
		t.Fatal(err)
	}
	live := []Epoch{old, cur}
	want, wantEp, err := OpenOuter(live, topic, payload)
	if err != nil || !bytes.Equal(want, frame) {
		t.Fatalf("OpenOuter: %v", err)
	}
	buf := make([]byte, 0, len(frame)+100)
	got, ep, err := OpenOuterInto(buf, live, topic, payload)
	if err != nil || !bytes.Equal(got, frame) || ep.ID != wantEp.ID {
		t.Fatalf("OpenOuterInto: %v, epoch %x want %x", err, ep.ID, wantEp.ID)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("the frame is not in the buffer given")
	}
	if n := bytesAllocated(func() { _, _, _ = OpenOuterInto(buf, live, topic, payload) }); n > uint64(len(frame))/10 {
		t.Errorf("OpenOuterInto allocated %d bytes for a %d-byte frame", n, len(frame))
	}
	if _, _, err := OpenOuterInto(buf, []Epoch{cur}, topic, payload); err != ErrDecrypt {
		t.Errorf("no live epoch opens it: %v, want ErrDecrypt", err)
	}
	small := make([]byte, 0, 16)
	if got, _, err := OpenOuterInto(small, live, topic, payload); err != nil || !bytes.Equal(got, frame) || &got[0] == &small[:1][0] {
		t.Errorf("a buffer without room: %v", err)
	}
}

// TestParseKeyBlockInto: a block parsed into a slice with room is the block ParseKeyBlock
// returns, its slots in that slice (issue 13: 72 KB of slots allocated per 1000-slot
// block), and the parse allocates less than the slots would take; a slice without room
// is not used.
func TestParseKeyBlockInto(t *testing.T) {
	g := ID{7}
	var nonce [NonceSize]byte
	b := NewRekey(g, Installation{2}, nonce, Frontier{ID{3}})
	for i := range 300 {
		b.Slots = append(b.Slots, Slot{Hint: [HintSize]byte{byte(i), byte(i >> 8), 4}, Kind: SlotSession, Message: bytes.Repeat([]byte{byte(i)}, 90)})
	}
	b.Slots[7] = Slot{Hint: [HintSize]byte{9}, Kind: SlotInitialCompact, X3DHHeader: []byte{1, 2, 3}, Message: []byte{4}}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseKeyBlock(g, enc)
	if err != nil {
		t.Fatal(err)
	}
	slots := make([]Slot, 5, 400)
	got, err := ParseKeyBlockInto(g, enc, slots)
	if err != nil {
		t.Fatal(err)
	}
	if &got.Slots[0] != &slots[0] {
		t.Error("the slots are not in the slice given")
	}
	same := func(a, b *KeyBlock) bool {
		ea, err1 := a.MarshalBinary()
		eb, err2 := b.MarshalBinary()
		return err1 == nil && err2 == nil && bytes.Equal(ea, eb) && len(a.Slots) == len(b.Slots)
	}
	if !same(got, want) {
		t.Error("the block parsed into a slice differs")
	}
	var slotBytes uint64 = uint64(len(want.Slots)) * 72
	if n := bytesAllocated(func() { _, _ = ParseKeyBlockInto(g, enc, slots) }); n >= slotBytes/2 {
		t.Errorf("ParseKeyBlockInto allocated %d bytes for %d slots", n, len(want.Slots))
	}
	small := make([]Slot, 0, 3)
	if got, err := ParseKeyBlockInto(g, enc, small); err != nil || !same(got, want) || &got.Slots[0] == &small[:1][0] {
		t.Errorf("a slice without room: %v", err)
	}
	if _, err := ParseKeyBlockInto(g, enc[:len(enc)-1], slots); err == nil {
		t.Error("a truncated block parsed")
	}
}
