package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/chorus-im/chorus/epoch"
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
	return m
}

// TestEpochMetaEncoding: the bookkeeping's direct encoding is byte for byte what
// encoding/json writes (stored records, the memos keyed by encoding and older readers
// depend on it), and it decodes back to what was encoded.
func TestEpochMetaEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		m := randomMeta(r)
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		// Again, from the coverage entries' encodings kept by the first (and after a
		// clone, which shares them).
		if again, _ := m.clone().encode(); !bytes.Equal(again, want) {
			t.Fatalf("case %d: encoded again:\n got %s\nwant %s", i, again, want)
		}
	}
	for c := range 256 {
		s := "a" + string([]byte{byte(c)}) + "b"
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("byte %#x: got %s, want %s", c, got, want)
		}
	}
	m := &epochMeta{V: 2}
	if got, _ := m.encode(); string(got) != `{"v":2}` {
		t.Fatalf("empty bookkeeping encodes as %s", got)
	}
}

// FuzzEpochMetaEncoding: any bookkeeping decoded from JSON encodes directly as
// encoding/json encodes it.
func FuzzEpochMetaEncoding(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		b, _ := json.Marshal(randomMeta(r))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m epochMeta
		if json.Unmarshal(data, &m) != nil {
			return
		}
		want, err := json.Marshal(&m)
		if err != nil {
			return
		}
		got, err := m.encode()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v)\nwant %s", got, err, want)
		}
	})
}

// BenchmarkEpochMetaEncode: a 1000-member group's bookkeeping after many key events
// (a coverage of 1000 hints, 64 epochs, 6 kept seeds), encoded directly and by
// encoding/json.
func BenchmarkEpochMetaEncode(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	id := func() string {
		var x [32]byte
		for i := range x {
			x[i] = byte(r.Uint32())
		}
		return hex.EncodeToString(x[:])
	}
	hs := make([][epoch.HintSize]byte, 1000)
	for i := range hs {
		for j := range hs[i] {
			hs[i][j] = byte(r.Uint32())
		}
	}
	m := &epochMeta{V: 2, Covered: map[string]*coverage{id(): {Hints: packHints(hs)}}}
	for range maxMetaEpochs {
		m.Epochs = append(m.Epochs, id())
	}
	for range maxKeptSeeds {
		m.Kept = append(m.Kept, keptSeed{ID: id(), Prev: []string{id()}, Seed: id()})
	}
	b.Run("direct", func(b *testing.B) {
		for range b.N {
			if _, err := m.encode(); err != nil {
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
}
