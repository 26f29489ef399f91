package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestDepartureInstallationsCache: a departure reads the departed account's installations
// (revoked ones too) from the group's cached member installations; what it reads is what
// the store holds, and the cache stops answering on an installation write (a revocation),
// holds nothing of a transaction that wrote an installation and failed, and no longer
// names an account removed from the group.
func TestDepartureInstallationsCache(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 77}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	must(t, err)
	tn.settle()
	byID := func(x, y storage.InstallationRecord) int { return bytes.Compare(x.ID[:], y.ID[:]) }
	same := func(what, account string, wantHit bool) {
		t.Helper()
		cached, hit, stored, err := protocol.DepartureInstallationsForTest(a.c, g, account)
		must(t, err)
		if hit != wantHit {
			t.Fatalf("%s: the cache answers: %v, want %v", what, hit, wantHit)
		}
		if !hit {
			return
		}
		slices.SortFunc(cached, byID)
		slices.SortFunc(stored, byID)
		if !slices.EqualFunc(cached, stored, func(x, y storage.InstallationRecord) bool {
			return x.ID == y.ID && x.Account == y.Account && x.Revoked == y.Revoked
		}) || len(stored) == 0 {
			t.Fatalf("%s: cached %v, stored %v", what, cached, stored)
		}
	}
	build := func() {
		t.Helper()
		_, err := protocol.MemberInstallationsForTest(a.c, g)
		must(t, err)
	}
	build()
	same("built", b.id, true)
	same("built", c.id, true)

	list, err := protocol.MemberInstallationsForTest(a.c, g)
	must(t, err)
	i := slices.IndexFunc(list, func(in storage.InstallationRecord) bool { return in.Account == b.id })
	rec, err := protocol.InstallationForTest(a.c, list[i].ID)
	must(t, err)
	revoked := *rec
	revoked.Revoked = true
	must(t, protocol.PutInstallationForTest(a.c, revoked))
	same("after a revocation", b.id, false)
	build()
	same("rebuilt after a revocation (b's installation revoked)", b.id, true)
	if cached, _, _, _ := protocol.DepartureInstallationsForTest(a.c, g, b.id); len(cached) != 1 || !cached[0].Revoked {
		t.Fatalf("b's installations after its revocation: %v", cached)
	}

	i = slices.IndexFunc(list, func(in storage.InstallationRecord) bool { return in.Account == c.id })
	rec, err = protocol.InstallationForTest(a.c, list[i].ID)
	must(t, err)
	extra := *rec
	extra.ID[0] ^= 0xff // an installation of c the store never holds
	if seen := protocol.FailedInstallationWriteForTest(a.c, g, extra); !slices.ContainsFunc(seen, func(in storage.InstallationRecord) bool { return in.ID == extra.ID }) {
		t.Fatal("the failing transaction did not see its own write")
	}
	same("after a failed transaction", c.id, false)
	build()
	same("rebuilt after a failed transaction", c.id, true)

	must(t, a.c.RemoveMembers(ctx, g, c.id))
	build()
	same("c removed", c.id, false)
	same("c removed", b.id, true)
}
