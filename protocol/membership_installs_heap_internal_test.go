package protocol

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
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
		mi := &memberInstalls{accounts: accounts}
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
	const copies = 64
	out := make([]*memberInstalls, copies)
	before := heapInUse()
	for i := range out {
		out[i] = mi.without(left)
	}
	per := float64(heapInUse()-before) / float64(copies*len(left))
	runtime.KeepAlive(out)
	t.Logf("%.1f B an installation", per)
	if per > 17 {
		t.Errorf("the installations of a %d-member group after a removal hold %.1f B an installation, want at most 17", n, per)
	}

	for _, shape := range []struct {
		per     int
		revoked bool
	}{{1, false}, {1, true}, {3, false}, {2, true}} {
		got, want := build(accounts, shape.per, shape.revoked).without(left), build(left, shape.per, shape.revoked)
		if got == nil || !slices.Equal(got.ids, want.ids) || !slices.Equal(got.revoked, want.revoked) ||
			!slices.Equal(got.revokedOf, want.revokedOf) {
			t.Fatalf("%+v: the list after the removal is not the one built anew", shape)
		}
		for k := range got.ids {
			if got.account(k) != want.account(k) {
				t.Fatalf("%+v: installation %d is %s's, want %s's", shape, k, got.account(k)[:8], want.account(k)[:8])
			}
		}
	}
}
