package membership

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestMemberIDForms: an id's internal form gives the id back, whatever the id (a key in
// PublicKeyString's form becomes its 65 bytes; any other spelling, upper-case digits, 0X,
// another length, a 65-byte string starting with 0x04, stays itself behind 0xff), so two
// ids are equal exactly when their internal forms are, as status-go compares strings.
func TestMemberIDForms(t *testing.T) {
	key := "0x04" + strings.Repeat("ab", 64)
	ids := []string{key, strings.ToUpper(key), "0X" + key[2:], key[:len(key)-2], key + "00", "",
		"0x", "\x04" + strings.Repeat("a", 64), "\xff" + key, "0x05" + key[4:], "alice"}
	for i, id := range ids {
		k := idOf(id)
		if got := hexOf(k); got != id {
			t.Errorf("%q: internal form %x gives %q back", id, k, got)
		}
		if isKeyID(k) != (i == 0) {
			t.Errorf("%q: held as a key: %v", id, isKeyID(k))
		}
		for j, o := range ids {
			if (idOf(o) == k) != (i == j) {
				t.Errorf("%q and %q: internal forms equal: %v", id, o, idOf(o) == k)
			}
		}
	}
	l := MembersOf(ids...)
	if l.Len() != len(ids) || !slices.Equal(l.Strings(), ids) || l.Index(ids[3]) != 3 || l.Contains("bob") || !l.Equal(MembersOf(ids...)) {
		t.Fatalf("the list does not read back its ids: %q", l.Strings())
	}
}

// TestMembersOfKeys: a list over a compact payload's keys reads as the list of their ids,
// and keys that are not all 0x04 keys (a canonical entry need not be one) read back too.
func TestMembersOfKeys(t *testing.T) {
	keys := append(append([]byte{4}, make([]byte, 64)...), append([]byte{4, 1}, make([]byte, 63)...)...)
	l := membersOfKeys(keys)
	want := MembersOf(keyString(keys[:65]), keyString(keys[65:]))
	if l.ids != nil || !l.Equal(want) || !want.Equal(l) || !slices.Equal(l.Strings(), want.Strings()) || l.Key(1) != want.Key(1) {
		t.Fatalf("keys read as %q, want %q", l.Strings(), want.Strings())
	}
	keys[65] = 5 // not a key's first byte: held as ids
	l = membersOfKeys(keys)
	if l.ids == nil || l.At(1) != keyString(keys[65:]) || isKeyID(l.Key(1)) {
		t.Fatalf("non-key entry read as %q", l.At(1))
	}
}

// FuzzMemberID: any string's internal form gives it back.
func FuzzMemberID(f *testing.F) {
	f.Add("0x04" + strings.Repeat("0f", 64))
	f.Add("\x04" + strings.Repeat("a", 64))
	f.Fuzz(func(t *testing.T, id string) {
		if got := hexOf(idOf(id)); got != id {
			t.Fatalf("%q gives %q back", id, got)
		}
	})
}

// TestMembersDropped: Dropped gives what the walk by Key gives (the indices of l that o
// does not match in order, and the number matched) for lists of pointers sharing their
// keys (a state's lists: compared by pointer), of pointers to equal keys held apart, of
// 65-byte keys, of other ids, and mixed.
func TestMembersDropped(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 16))
	key := func() string {
		k := make([]byte, keyLength)
		k[0] = 4
		for i := 1; i < len(k); i++ {
			k[i] = byte(rng.IntN(3)) // few values: keys that share long prefixes
		}
		return string(k)
	}
	walk := func(l, o Members) (dropped []int, matched int) {
		j := 0
		for i := range l.Len() {
			if j < o.Len() && o.Key(j) == l.Key(i) {
				j++
			} else {
				dropped = append(dropped, i)
			}
		}
		return dropped, j
	}
	for round := range 400 {
		n := rng.IntN(40)
		ks := make([]string, n)
		for i := range ks {
			ks[i] = key()
		}
		if round%7 == 0 && n > 0 {
			ks[rng.IntN(n)] = "\xffnot a key"
		}
		l := membersOwn(ks)
		var next []string // l's ids, some dropped, a few appended (sometimes a dropped one)
		var kept []*[keyLength]byte
		for i, k := range ks {
			if rng.IntN(5) > 0 {
				next = append(next, k)
				if l.ptrs != nil {
					kept = append(kept, l.ptrs[i])
				}
			}
		}
		for range rng.IntN(3) {
			if n > 0 && rng.IntN(2) == 0 {
				next = append(next, ks[rng.IntN(n)])
			} else {
				next = append(next, key())
			}
		}
		apart := make([]string, len(next)) // equal keys in memory of their own
		for i, k := range next {
			apart[i] = string([]byte(k))
		}
		lists := []Members{membersOwn(apart), {ids: apart}}
		if l.ptrs != nil && len(kept) == len(next) {
			lists = append(lists, Members{ptrs: kept}) // shared: by pointer
		}
		if len(next) > 0 && isKeyID(next[0]) {
			var raw []byte
			for _, k := range next {
				raw = append(raw, k...)
			}
			lists = append(lists, membersOfKeys(raw))
		}
		for _, o := range lists {
			for _, pair := range [][2]Members{{l, o}, {o, l}} {
				gotD, gotM := pair[0].Dropped(pair[1], nil)
				wantD, wantM := walk(pair[0], pair[1])
				if gotM != wantM || !slices.Equal(gotD, wantD) {
					t.Fatalf("round %d: Dropped %v %d, walk %v %d", round, gotD, gotM, wantD, wantM)
				}
			}
		}
	}
}

// BenchmarkMembersDropped: a removal's walk over a 1000-member list against the list
// without one member (sharing its keys), by Dropped and by Key as before.
func BenchmarkMembersDropped(b *testing.B) {
	ks := make([]string, 1000)
	for i := range ks {
		k := make([]byte, keyLength)
		k[0], k[1], k[2] = 4, byte(i), byte(i>>8)
		ks[i] = string(k)
	}
	l := membersOwn(ks)
	o := Members{ptrs: slices.Delete(slices.Clone(l.ptrs), 500, 501)}
	b.Run("Dropped", func(b *testing.B) {
		var buf [4]int
		for range b.N {
			if _, j := l.Dropped(o, buf[:0]); j != 999 {
				b.Fatal(j)
			}
		}
	})
	b.Run("Key", func(b *testing.B) {
		for range b.N {
			j := 0
			var dropped []int
			for i := range l.Len() {
				if j < o.Len() && o.Key(j) == l.Key(i) {
					j++
				} else {
					dropped = append(dropped, i)
				}
			}
			if j != 999 || len(dropped) != 1 {
				b.Fatal(j)
			}
		}
	})
}
