package protocol

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/membership"
)

// TestMemberInstallsHeap: a group's cached list of its members' installations is kept as
// long as the client runs; after a removal (memberInstalls.without, the usual way it is
// replaced) it holds at most 17 bytes an installation for a 1000-member group of one
// installation each (issue 16: main held 20, the id and the index of its account, which
// is its own index then), and it names the accounts as the list built anew does, with
// several installations per account and revoked ones too.
func TestMemberInstallsHeap(t *testing.T) {
	const n = 1000
	accounts := make([]string, n)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("0x04%0128x", i)
	}
	build := func(accounts []string, per int, revoked bool) *memberInstalls {
		mi := &memberInstalls{accounts: membership.MembersOf(accounts...)}
		for i, a := range accounts {
			var k int
			if _, err := fmt.Sscanf(a[4:], "%x", &k); err != nil {
				t.Fatal(err)
			}
			for d := range per {
				id := InstallationID{byte(k), byte(k >> 8), byte(d)}
				mi.ids, mi.of = append(mi.ids, id), append(mi.of, int32(i))
			}
			if revoked {
				mi.revoked, mi.revokedOf = append(mi.revoked, InstallationID{byte(k), byte(k >> 8), 0xff}), append(mi.revokedOf, int32(i))
			}
		}
		return mi
	}
	left := slices.Delete(slices.Clone(accounts), 700, 701)
	left = slices.Delete(left, 3, 4)

	mi := build(accounts, 1, false)
	mi.compact() // as memberInstalls keeps it
	const copies = 64
	out := make([]*memberInstalls, copies)
	leftM := membership.MembersOf(left...)
	before := heapInUse()
	for i := range out {
		out[i] = mi.without(leftM)
	}
	per := float64(heapInUse()-before) / float64(copies*len(left))
	runtime.KeepAlive(out)
	t.Logf("%.1f B an installation", per)
	if per > 17 {
		t.Errorf("the installations of a %d-member group after a removal hold %.1f B an installation, want at most 17", n, per)
	}

	// Compacted (of nil: one installation an account) or not, the list after a removal
	// is the one built anew; so it is when the accounts left are in another order, or
	// when one has no installation (not the case withoutInOrder takes).
	shuffled := slices.Clone(left)
	shuffled[0], shuffled[len(shuffled)-1] = shuffled[len(shuffled)-1], shuffled[0]
	for _, shape := range []struct {
		per     int
		revoked bool
		compact bool
		left    []string
	}{{1, false, false, left}, {1, true, false, left}, {3, false, false, left}, {2, true, false, left},
		{1, false, true, left}, {1, true, true, left}, {1, false, true, shuffled}, {1, false, true, append(slices.Clone(left), "0x04ff")}} {
		from := build(accounts, shape.per, shape.revoked)
		if shape.compact {
			from.compact()
		}
		got, want := from.without(membership.MembersOf(shape.left...)), build(shape.left, shape.per, shape.revoked)
		if len(shape.left) > len(left) { // an account the list does not know: read again
			if got != nil {
				t.Fatalf("%+v: an account not in the list, kept", shape.compact)
			}
			continue
		}
		if &shape.left[0] == &shuffled[0] { // the same installations and accounts, in the list's order
			pairs := func(mi *memberInstalls) []string {
				var out []string
				for k, id := range mi.ids {
					out = append(out, fmt.Sprintf("%x %s", id, mi.account(k)))
				}
				slices.Sort(out)
				return out
			}
			if got == nil || !slices.Equal(pairs(got), pairs(want)) {
				t.Fatal("accounts in another order: the list after the removal is not the one built anew")
			}
			continue
		}
		if got == nil || !slices.Equal(got.ids, want.ids) || !slices.Equal(got.revoked, want.revoked) ||
			!slices.Equal(got.revokedOf, want.revokedOf) {
			t.Fatalf("%d %v %v: the list after the removal is not the one built anew", shape.per, shape.revoked, shape.compact)
		}
		for k := range got.ids {
			if got.account(k) != want.account(k) {
				t.Fatalf("%d %v %v: installation %d is %s's, want %s's", shape.per, shape.revoked, shape.compact, k, got.account(k), want.account(k))
			}
		}
	}
}
