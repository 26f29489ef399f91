package wire

import "testing"

// TestParseGroupPlaintextV2Allocs: a received group message's plaintext is decoded in three
// allocations (the struct, the body's copy, the history entries at their count), whatever
// the history's length (issue 16: every allocation of the receive path costs, cold).
func TestParseGroupPlaintextV2Allocs(t *testing.T) {
	p := &GroupPlaintextV2{Clock: 1, Timestamp: 2, Type: ContentText, Body: []byte("hello")}
	for i := range 8 {
		p.History = append(p.History, [ShortEntrySize]byte{byte(i)})
	}
	in, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got *GroupPlaintextV2
	allocs := testing.AllocsPerRun(100, func() {
		if got, err = ParseGroupPlaintextV2(in); err != nil {
			t.Fatal(err)
		}
	})
	if len(got.History) != 8 || got.History[7][0] != 7 || string(got.Body) != "hello" {
		t.Fatalf("parsed %+v", got)
	}
	if allocs > 3 {
		t.Errorf("ParseGroupPlaintextV2: %.0f allocations, want at most 3", allocs)
	}
}
