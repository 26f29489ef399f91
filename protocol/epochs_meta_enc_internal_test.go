package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// randomMeta returns bookkeeping with every field exercised (or left empty) at random,
// strings included that encoding/json escapes.
func randomMeta(r *rand.Rand) *epochMeta {
	id := func() string {
		var b [32]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return hex.EncodeToString(b[:])
	}
	odd := []string{"", "a<b>&c", "quote\"back\\slash", "tab\tnl\n", "é ü", "\xff\xfe", "\u2028", "plain@account"}
	str := func() string {
		if r.IntN(4) == 0 {
			return odd[r.IntN(len(odd))]
		}
		return id()
	}
	strs := func() []string {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, r.IntN(5))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	inst := func() (x InstallationID) {
		for i := range x {
			x[i] = byte(r.Uint32())
		}
		return x
	}
	cov := func() *coverage {
		if r.IntN(8) == 0 {
			return nil
		}
		cv := &coverage{Author: inst(), Departed: r.IntN(2) == 0, HexHints: strs(), Adds: strs(), HintsV3: r.IntN(2) == 0}
		if r.IntN(3) == 0 {
			cv.Outer = id() // fix 34b: the epoch the event was sealed under, when not its prev's
		}
		if r.IntN(4) > 0 {
			hs := make([][epoch.HintSize]byte, r.IntN(40))
			for i := range hs {
				a, b := inst(), inst()
				hs[i] = epoch.SlotHint(epoch.ID(append(a[:], b[:]...)), epoch.Installation(inst()))
			}
			cv.Hints = packHints(hs)
		}
		return cv
	}
	m := &epochMeta{V: r.IntN(4), Departs: strs(), Epochs: strs()}
	if r.IntN(4) > 0 {
		m.Covered = map[string]*coverage{}
		for range r.IntN(5) {
			m.Covered[str()] = cov()
		}
	}
	if r.IntN(3) == 0 {
		m.Parts = map[string]*partCoverage{}
		for range r.IntN(4) {
			pc := &partCoverage{}
			if cv := cov(); cv != nil {
				pc.coverage = *cv
			}
			if r.IntN(3) > 0 {
				pc.Seen = []uint16{}
				for range r.IntN(4) {
					pc.Seen = append(pc.Seen, uint16(r.Uint32()))
				}
			}
			if r.IntN(8) == 0 {
				pc = nil
			}
			m.Parts[str()] = pc
		}
	}
	for range r.IntN(4) {
		m.Uncovered = append(m.Uncovered, inst())
	}
	for range r.IntN(7) {
		m.Kept = append(m.Kept, keptSeed{ID: str(), Prev: strs(), Seed: str()})
	}
	m.Refused = strs()
	return m
}

// jsonOf is m as encoding/json writes it (the bookkeeping's stored form before
// metaBinary): two bookkeepings with the same JSON hold the same.
func jsonOf(t testing.TB, m *epochMeta) string {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEpochMetaEncoding: the binary encoding decodes back to what was encoded (as its
// JSON, the stored form before it: same fields, nil and empty lists where JSON keeps them
// apart), to what the JSON record of the same bookkeeping decodes to, and encodes again
// to the same bytes, also from the entries' kept encodings after a clone.
func TestEpochMetaEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		m := randomMeta(r)
		want := jsonOf(t, m)
		b, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != metaBinary {
			t.Fatalf("case %d: starts with %#x", i, b[0])
		}
		d, err := decodeMetaBinary(b)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got := jsonOf(t, d); got != want {
			t.Fatalf("case %d: decoded\n got %s\nwant %s", i, got, want)
		}
		var old epochMeta
		if err := json.Unmarshal([]byte(want), &old); err != nil {
			t.Fatal(err)
		}
		// (JSON cannot hold strings that are not UTF-8: when its record changed them, it
		// is no reference.)
		if got := jsonOf(t, &old); got == want && got != jsonOf(t, d) {
			t.Fatalf("case %d: the JSON record decodes to\n%s\nthe binary one to\n%s", i, got, jsonOf(t, d))
		}
		again := map[string]*epochMeta{"decoded": d, "clone": m.clone()}
		if jsonOf(t, &old) == want {
			again["from JSON"] = &old
		}
		for what, mm := range again {
			if again, _ := mm.encode(); !bytes.Equal(again, b) {
				t.Fatalf("case %d: %s encodes again as\n%x\nnot\n%x", i, what, again, b)
			}
		}
	}
	if got, _ := (&epochMeta{V: 2}).encode(); !bytes.Equal(got, []byte{metaBinary, 2, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("empty bookkeeping encodes as %x", got)
	}
}

// liveMeta returns bookkeeping as a group of n members holds it: a coverage of n hints
// (and one of a departed author), a block in parts, uncovered installations, 64 epochs
// and 6 kept seeds.
func liveMeta(r *rand.Rand, n int) *epochMeta {
	id := func() string {
		var x [32]byte
		for i := range x {
			x[i] = byte(r.Uint32())
		}
		return hex.EncodeToString(x[:])
	}
	hints := func(n int) hintList {
		hs := make([][epoch.HintSize]byte, n)
		for i := range hs {
			for j := range hs[i] {
				hs[i][j] = byte(r.Uint32())
			}
		}
		return packHints(hs)
	}
	m := &epochMeta{V: 2, Departs: []string{id()}, Covered: map[string]*coverage{
		id(): {Author: InstallationID{1}, Hints: hints(n), HintsV3: true},
		id(): {Author: InstallationID{2}, Departed: true, Adds: []string{"acct-a", id()}},
	}, Parts: map[string]*partCoverage{
		id(): {coverage: coverage{Author: InstallationID{3}, Hints: hints(n / 2)}, Seen: []uint16{0, 2}},
	}, Uncovered: []InstallationID{{4}, {5}}}
	for range maxMetaEpochs {
		m.Epochs = append(m.Epochs, id())
	}
	for range maxKeptSeeds {
		m.Kept = append(m.Kept, keptSeed{ID: id(), Prev: []string{id(), id()}, Seed: id()})
	}
	return m
}

// withoutEnc is m with its entries' kept encodings cleared (for comparing contents).
func withoutEnc(m *epochMeta) *epochMeta {
	c := m.clone()
	for k, cv := range c.Covered {
		x := *cv
		x.enc = nil
		c.Covered[k] = &x
	}
	return c
}

// TestEpochMetaJSONRecordLoads: a group record whose bookkeeping was stored as JSON (what
// the encoder before metaBinary wrote: encoding/json's bytes, TestEpochMetaEncoding of
// that version) loads to the same bookkeeping as the record in the binary encoding, and
// to the bookkeeping stored; the binary one is under 3/4 of the JSON one's size at 1000, and
// its hints alias the record's bytes (issue 16: no copy of them on the heap).
func TestEpochMetaJSONRecordLoads(t *testing.T) {
	m := liveMeta(rand.New(rand.NewPCG(5, 6)), 1000)
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.clone().encode()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := loadMeta(&storage.GroupRecord{EpochMeta: j})
	if err != nil {
		t.Fatal(err)
	}
	fromBinary, err := loadMeta(&storage.GroupRecord{EpochMeta: b})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(withoutEnc(fromJSON), withoutEnc(fromBinary)) || !reflect.DeepEqual(withoutEnc(fromBinary), withoutEnc(m)) {
		t.Fatalf("the JSON record loads to\n%s\nthe binary one to\n%s", jsonOf(t, fromJSON), jsonOf(t, fromBinary))
	}
	if 4*len(b) > 3*len(j) {
		t.Errorf("binary %d bytes, JSON %d", len(b), len(j))
	}
	t.Logf("bookkeeping at 1000: binary %d bytes, JSON %d", len(b), len(j))
	for k, cv := range fromBinary.Covered {
		if len(cv.Hints) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(cv.Hints)))
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if p < lo || p >= lo+uintptr(len(b)) || cap(cv.Hints) != len(cv.Hints) {
			t.Errorf("entry %s: hints not a capped view of the record", k)
		}
	}
	// The loaded JSON record, stored again, is in the binary encoding.
	if again, _ := fromJSON.encode(); !bytes.Equal(again, b) {
		t.Fatal("the JSON record's bookkeeping encodes to other bytes")
	}
}

// TestEpochMetaBinaryBad: an encoding cut short anywhere, with a byte after it, with
// bytes changed at every place, or with hints out of order, is refused (an error, no
// panic), and so is each of a list of malformed encodings.
func TestEpochMetaBinaryBad(t *testing.T) {
	m := liveMeta(rand.New(rand.NewPCG(7, 8)), 20)
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	load := func(x []byte) error {
		_, err := loadMeta(&storage.GroupRecord{EpochMeta: x})
		return err
	}
	if err := load(b); err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if load(b[:n:n]) == nil {
			t.Fatalf("cut to %d of %d bytes: loaded", n, len(b))
		}
	}
	if load(append(b[:len(b):len(b)], 0)) == nil {
		t.Fatal("a byte after the encoding: loaded")
	}
	for i := range b { // no panic; what loads encodes to its own bytes
		for _, d := range []byte{1, 0x80, 0xff} {
			x := bytes.Clone(b)
			x[i] ^= d
			got, err := loadMeta(&storage.GroupRecord{EpochMeta: x})
			if err != nil {
				continue
			}
			if again, _ := got.encode(); !bytes.Equal(again, x) {
				t.Fatalf("byte %d ^ %#x: loaded, encodes to other bytes", i, d)
			}
		}
	}
	hs := hintList(bytes.Repeat([]byte{9}, 2*epoch.HintSize)) // twice the same hint
	bad := func(f func(m *epochMeta)) []byte {
		m := &epochMeta{V: 2}
		f(m)
		x, _ := m.encode()
		return x
	}
	for name, x := range map[string][]byte{
		"empty":            {},
		"version 3":        bad(func(m *epochMeta) { m.V = 3 }),
		"hints repeated":   bad(func(m *epochMeta) { m.Covered = map[string]*coverage{"e": {Hints: hs}} }),
		"part hints":       bad(func(m *epochMeta) { m.Parts = map[string]*partCoverage{"e": {coverage: coverage{Hints: hs}}} }),
		"long uvarint":     {metaBinary, 0x82, 0x00, 0, 0, 0, 0, 0, 0},
		"flags":            {metaBinary, 2, 0, 1, 2, 'e', 0x04},
		"hints not whole":  append([]byte{metaBinary, 2, 0, 1, 2, 'e', 0}, append(make([]byte, 16), 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0)...),
		"keys unordered":   {metaBinary, 2, 0, 2, 2, 'f', 0x80, 2, 'e', 0x80, 0, 0, 0, 0},
		"id as a string":   append(append([]byte{metaBinary, 2, 1, 65}, bytes.Repeat([]byte{'a'}, 64)...), 0, 0, 0, 0, 0, 0),
		"count too large":  {metaBinary, 2, 0xff, 0xff, 0x03},
		"uncovered short":  {metaBinary, 2, 0, 0, 0, 1, 1, 2, 3},
		"kept seed cut":    {metaBinary, 2, 0, 0, 0, 0, 0, 1, 0, 1},
		"refused empty":    {metaBinary, 2, 0, 0, 0, 0, 0, 0, 0},
		"not binary, JSON": []byte(`{"v":2`),
	} {
		if load(x) == nil {
			t.Errorf("%s: loaded %x", name, x)
		}
	}
}

// FuzzEpochMetaBinary: any input decodes without panic; what decodes encodes to the same
// bytes (one encoding for each bookkeeping) and decodes again to the same bookkeeping.
func FuzzEpochMetaBinary(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		b, _ := randomMeta(r).encode()
		f.Add(b)
	}
	b, _ := liveMeta(r, 5).encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = loadMeta(&storage.GroupRecord{EpochMeta: data})
		m, err := decodeMetaBinary(data)
		if err != nil {
			return
		}
		got, err := m.encode()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decoded, encodes to\n%x (%v)\nnot\n%x", got, err, data)
		}
		again, err := decodeMetaBinary(got)
		if err != nil || jsonOf(t, again) != jsonOf(t, m) {
			t.Fatalf("decodes again to %v (%v), not %v", again, err, m)
		}
	})
}

// BenchmarkEpochMetaEncode: a 1000-member group's bookkeeping after many key events
// (a coverage of 1000 hints, 64 epochs, 6 kept seeds), encoded (the entries' kept
// encodings cleared, as for a new entry), as encoding/json encodes it, and decoded.
func BenchmarkEpochMetaEncode(b *testing.B) {
	m := liveMeta(rand.New(rand.NewPCG(7, 8)), 1000)
	b.Run("binary", func(b *testing.B) {
		for range b.N {
			if _, err := withoutEnc(m).encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for range b.N {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc, _ := m.encode()
	j, _ := json.Marshal(m)
	for name, x := range map[string][]byte{"load-binary": enc, "load-json": j} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := loadMeta(&storage.GroupRecord{EpochMeta: x}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEpochMetaEncodeCached: the same bookkeeping encoded again from its entries'
// kept encodings (a key event's case for the entries it keeps).
func BenchmarkEpochMetaEncodeCached(b *testing.B) {
	m := liveMeta(rand.New(rand.NewPCG(7, 8)), 1000)
	m.encode()
	for range b.N {
		if _, err := m.encode(); err != nil {
			b.Fatal(err)
		}
	}
}
