package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestHintList: a packed hint set holds exactly the hints it was built from (sorted,
// without repeats), whatever their order, and unions with further hints.
func TestHintList(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hs := make([][epoch.HintSize]byte, 300)
	for i := range hs {
		for j := range hs[i] {
			hs[i][j] = byte(r.Uint32())
		}
	}
	hs[7] = hs[3] // a repeat
	hs[8][0], hs[9][0] = 0, 0xff
	in := make(map[[epoch.HintSize]byte]bool)
	for _, h := range hs {
		in[h] = true
	}
	l := packHints(append([][epoch.HintSize]byte(nil), hs...))
	if !l.valid() || l.len() != len(in) {
		t.Fatalf("packed %d hints (valid %v), want %d", l.len(), l.valid(), len(in))
	}
	for h := range in {
		if !l.has(h) {
			t.Fatalf("hint %x missing", h)
		}
	}
	for range 1000 {
		var h [epoch.HintSize]byte
		for j := range h {
			h[j] = byte(r.Uint32())
		}
		if l.has(h) != in[h] {
			t.Fatalf("has(%x) = %v", h, !in[h])
		}
		near := hs[r.IntN(len(hs))]
		near[15] ^= 1
		if l.has(near) != in[near] {
			t.Fatalf("has(%x) = %v", near, !in[near])
		}
	}
	if (hintList{}).has(hs[0]) {
		t.Fatal("the empty set holds a hint")
	}
	more := [][epoch.HintSize]byte{hs[0], {1, 2, 3}}
	u := l.union(more)
	if !u.valid() || u.len() != len(in)+1 || !u.has([epoch.HintSize]byte{1, 2, 3}) || !u.has(hs[10]) {
		t.Fatalf("union: %d hints (valid %v)", u.len(), u.valid())
	}
	if sorted := packHints(append([][epoch.HintSize]byte(nil), hs[:5]...)); !bytes.Equal(packHints(sorted.hints()), sorted) {
		t.Fatal("packing a sorted set changed it")
	}
}

func (l hintList) hints() [][epoch.HintSize]byte {
	out := make([][epoch.HintSize]byte, l.len())
	for i := range out {
		out[i] = [epoch.HintSize]byte(l.at(i))
	}
	return out
}

// TestCoverageLegacyHints: bookkeeping stored with hex slot hints (before hintList)
// loads into the packed set; a bad hint or a packed set out of order is refused.
func TestCoverageLegacyHints(t *testing.T) {
	h1, h2 := [epoch.HintSize]byte{9}, [epoch.HintSize]byte{1}
	legacy := `{"v":2,"c":{"e1":{"h":["` + hex.EncodeToString(h1[:]) + `","` +
		hex.EncodeToString(h2[:]) + `"]}},"p":{"e2":{"h":["` + hex.EncodeToString(h1[:]) + `"],"s":[0]}}}`
	m, err := loadMeta(&storage.GroupRecord{EpochMeta: []byte(legacy)})
	if err != nil {
		t.Fatal(err)
	}
	cv := m.Covered["e1"]
	if cv.HexHints != nil || cv.Hints.len() != 2 || !cv.Hints.has(h1) || !cv.Hints.has(h2) || !m.Parts["e2"].Hints.has(h1) {
		t.Fatalf("legacy hints not upgraded: %+v", cv)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadMeta(&storage.GroupRecord{EpochMeta: b})
	if err != nil || !bytes.Equal(again.Covered["e1"].Hints, cv.Hints) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{
		`{"v":2,"c":{"e1":{"h":["zz"]}}}`,
		`{"v":2,"c":{"e1":{"hs":"AAAA"}}}`,
		`{"v":2,"c":{"e1":{"hs":"` + base64.StdEncoding.EncodeToString(append(h1[:], h2[:]...)) + `"}}}`,
	} {
		if _, err := loadMeta(&storage.GroupRecord{EpochMeta: []byte(bad)}); err == nil {
			t.Fatalf("bad bookkeeping accepted: %s", bad)
		}
	}
}

// TestHintListHasSpread: has answers as a plain set does for sets of every size and any
// spread of hints — even (hash outputs, where its search starts at the guessed place),
// bunched at either end, sharing their leading bytes — for the hints held, their
// neighbours and random ones; so does has through the list's index (hintIndex, the heal
// check's).
func TestHintListHasSpread(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	spreads := []func(h *[epoch.HintSize]byte){
		func(h *[epoch.HintSize]byte) {},                          // even
		func(h *[epoch.HintSize]byte) { h[0], h[1] = 0, h[1]&3 },  // bunched low
		func(h *[epoch.HintSize]byte) { h[0] = 0xff },             // bunched high
		func(h *[epoch.HintSize]byte) { copy(h[:8], "samehigh") }, // equal leading 8 bytes
		func(h *[epoch.HintSize]byte) { // two clusters
			if h[15]&1 == 0 {
				h[0] = 0x10
			} else {
				h[0] = 0xe0
			}
		},
	}
	random := func(spread func(*[epoch.HintSize]byte)) [epoch.HintSize]byte {
		var h [epoch.HintSize]byte
		for j := range h {
			h[j] = byte(r.Uint32())
		}
		spread(&h)
		return h
	}
	for round := range 400 {
		spread := spreads[round%len(spreads)]
		n := r.IntN(1200)
		if round%7 == 0 {
			n = r.IntN(4)
		}
		hs := make([][epoch.HintSize]byte, n)
		in := make(map[[epoch.HintSize]byte]bool, n)
		for i := range hs {
			hs[i] = random(spread)
			in[hs[i]] = true
		}
		l := packHints(append([][epoch.HintSize]byte(nil), hs...))
		var probes [][epoch.HintSize]byte
		for _, h := range hs {
			probes = append(probes, h)
			for _, d := range []byte{1, 0xff} {
				near := h
				near[15] += d
				probes = append(probes, near)
				near = h
				near[0] += d
				probes = append(probes, near)
			}
		}
		for range 50 {
			probes = append(probes, random(spread), random(func(*[epoch.HintSize]byte) {}))
		}
		probes = append(probes, [epoch.HintSize]byte{}, [epoch.HintSize]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		x := l.index()
		for _, p := range probes {
			if l.has(p) != in[p] {
				t.Fatalf("round %d (%d hints): has(%x) = %v, want %v", round, l.len(), p, l.has(p), in[p])
			}
			if x.has(l, p) != in[p] {
				t.Fatalf("round %d (%d hints): the index's has(%x) = %v, want %v", round, l.len(), p, x.has(l, p), in[p])
			}
		}
	}
}

// TestBlockHintList: a received block's hint set, packed from its slots directly, is the
// set packHints makes of its hints (in slot order, sorted or not, with repeats), and is
// two allocations (the sort keys and the set), not three (issue 13: the list of hints
// first copied out of the slots was 16 KB more per key event at 1000 slots); one (the
// set) when the slots come sorted, as authors send them.
func TestBlockHintList(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 7, 300, 1000} {
		kb := &epoch.KeyBlock{Slots: make([]epoch.Slot, n)}
		for i := range kb.Slots {
			for j := range kb.Slots[i].Hint {
				kb.Slots[i].Hint[j] = byte(r.Uint32())
			}
		}
		if n > 5 {
			kb.Slots[5].Hint = kb.Slots[2].Hint // a repeat
		}
		for _, sorted := range []bool{false, true} {
			if sorted {
				slices.SortFunc(kb.Slots, func(a, b epoch.Slot) int { return bytes.Compare(a.Hint[:], b.Hint[:]) })
			}
			want := packHints(blockHints(kb))
			if got := blockHintList(kb); !bytes.Equal(got, want) {
				t.Fatalf("%d slots (sorted %v): the packed set differs from packHints'", n, sorted)
			}
			view := viewOf(t, kb.Slots)
			if got := blockHintList(view); !bytes.Equal(got, want) {
				t.Fatalf("%d slots (sorted %v) of a view: the packed set differs from packHints'", n, sorted)
			}
			if got := packHints(blockHints(view)); !bytes.Equal(got, want) {
				t.Fatalf("%d slots (sorted %v) of a view: blockHints differs", n, sorted)
			}
		}
	}
	kb := &epoch.KeyBlock{Slots: make([]epoch.Slot, 1000)}
	for i := range kb.Slots {
		for j := range kb.Slots[i].Hint {
			kb.Slots[i].Hint[j] = byte(r.Uint32())
		}
	}
	if a := testing.AllocsPerRun(10, func() { blockHintList(kb) }); a > 2 {
		t.Errorf("%v allocations packing the hints of 1000 slots, want ≤ 2", a)
	}
	// Sorted as an author sends them: the hints copied into the set, no sort keys.
	slices.SortFunc(kb.Slots, func(a, b epoch.Slot) int { return bytes.Compare(a.Hint[:], b.Hint[:]) })
	if got, want := blockHintList(kb), packHints(blockHints(kb)); !bytes.Equal(got, want) {
		t.Fatal("1000 sorted slots: the packed set differs from packHints'")
	}
	if a := testing.AllocsPerRun(10, func() { blockHintList(kb) }); a > 1 {
		t.Errorf("%v allocations packing the hints of 1000 sorted slots, want 1", a)
	}
	view := viewOf(t, kb.Slots)
	if a := testing.AllocsPerRun(10, func() { blockHintList(view) }); a > 1 {
		t.Errorf("%v allocations packing the hints of a view of 1000 sorted slots, want 1", a)
	}
}

// viewOf returns a block with slots (a message of one byte each) encoded and parsed as a
// view (epoch.ParseKeyBlockView): Slots nil, its hints read from the encoding.
func viewOf(t *testing.T, slots []epoch.Slot) *epoch.KeyBlock {
	t.Helper()
	g := epoch.ID{1}
	kb := epoch.KeyBlock{Kind: epoch.KindMembership, Author: epoch.Installation{2}, Event: epoch.ID{3}, Parts: 1}
	for _, s := range slots {
		kb.Slots = append(kb.Slots, epoch.Slot{Hint: s.Hint, Kind: epoch.SlotSession, Message: []byte{1}})
	}
	enc, err := kb.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	view, err := epoch.ParseKeyBlockView(g, enc)
	if err != nil || view.Slots != nil || view.SlotCount() != len(slots) {
		t.Fatalf("view: %v", err)
	}
	return view
}
