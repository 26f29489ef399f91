package protocol

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
)

// TestKeptCandidatesAntichains: the candidate epochs of kept seeds are exactly the epochs of
// the sets of up to maxCandidateSize kept events none of which is behind another (through
// prev links between kept events, however long the path), on random histories: a linear
// history of 6 key events gives its 6 epochs, not also the 14 of sets like {e1, e3} that no
// frontier can be (it composed them, naming only direct prev links). With the memo, the
// same epochs.
func TestKeptCandidatesAntichains(t *testing.T) {
	src := rand.NewChaCha8([32]byte{7, 13})
	r := rand.New(src)
	var g epoch.ID
	src.Read(g[:])
	for round := range 200 {
		n := 1 + r.IntN(maxKeptSeeds)
		kept := make([]keptSeed, n)
		ids := make([]epoch.ID, n)
		seeds := make([]epoch.Seed, n)
		reach := make([][]bool, n) // reach[j][i]: i is behind j (a path of prev links)
		for j := range n {
			src.Read(ids[j][:])
			src.Read(seeds[j][:])
			kept[j] = keptSeed{ID: ids[j].String(), Seed: hex.EncodeToString(seeds[j][:])}
			reach[j] = make([]bool, n)
			linear := round%4 == 0
			for i := range j { // prev links to earlier events only: a history
				if linear && i == j-1 || !linear && r.IntN(3) == 0 {
					kept[j].Prev = append(kept[j].Prev, ids[i].String())
					reach[j][i] = true
					for k := range i {
						reach[j][k] = reach[j][k] || reach[i][k]
					}
				}
			}
			if r.IntN(4) == 0 { // a prev event not kept (evicted): no link through it
				var x epoch.ID
				src.Read(x[:])
				kept[j].Prev = append(kept[j].Prev, x.String())
			}
		}
		var want []epoch.Epoch
		var walk func(start int, cur []int)
		walk = func(start int, cur []int) {
			if len(cur) > 0 {
				f, err := epoch.NewFrontier(pick(ids, cur)...)
				if err != nil {
					t.Fatal(err)
				}
				var xs []epoch.ID
				for _, id := range f {
					j := slices.Index(ids, id)
					x, err := epoch.Contribution(g, &seeds[j], id, f)
					if err != nil {
						t.Fatal(err)
					}
					xs = append(xs, x)
				}
				e, err := epoch.Compose(g, f, xs)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(want, func(w epoch.Epoch) bool { return w.ID == e.ID }) {
					want = append(want, e)
				}
			}
			if len(cur) == maxCandidateSize {
				return
			}
		next:
			for j := start; j < n; j++ {
				for _, i := range cur {
					if reach[j][i] || reach[i][j] {
						continue next
					}
				}
				walk(j+1, append(slices.Clone(cur), j))
			}
		}
		walk(0, nil)
		if round%4 == 0 && len(want) != n {
			t.Fatalf("round %d: a linear history of %d events: %d reference epochs", round, n, len(want))
		}
		got := keptCandidates(g, kept, nil, nil)
		memo := map[candKey]composedEpoch{}
		memoed := keptCandidates(g, kept, nil, memo)
		if again := keptCandidates(g, kept, memo, nil); !slices.EqualFunc(again, memoed, func(a, b epoch.Epoch) bool { return a == b }) {
			t.Fatalf("round %d: the candidates composed through the memo differ", round)
		}
		for _, out := range [][]epoch.Epoch{got, memoed} {
			if len(out) != len(want) {
				t.Fatalf("round %d (%d kept): %d candidates, want %d", round, n, len(out), len(want))
			}
			for i := range want {
				if out[i].ID != want[i].ID {
					t.Fatalf("round %d: candidate %d differs", round, i)
				}
			}
		}
	}
}

func pick(ids []epoch.ID, at []int) []epoch.ID {
	out := make([]epoch.ID, len(at))
	for k, i := range at {
		out[k] = ids[i]
	}
	return out
}

// TestDecodeHexString checks decodeHexString against hex.Decode: same bytes, same
// inputs refused (either case taken, a non-hex digit or a wrong length refused).
func TestDecodeHexString(t *testing.T) {
	for _, s := range []string{"00ff", "00FF", "aBcD", "0g12", "12", "123456", "zz00", "", "1234 "} {
		var got [2]byte
		ok := decodeHexString(got[:], s)
		want, err := hex.DecodeString(s)
		wantOK := err == nil && len(want) == len(got)
		if ok != wantOK || ok && !bytes.Equal(got[:], want) {
			t.Errorf("%q: got %x %v, hex.Decode %x %v", s, got, ok, want, err)
		}
	}
}
