package membership

import (
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
