package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview19RevokedBlockNoEagerHeal: a departed author whose block kept its hints is an
// installation revoked after its block was applied (revokedV2 marks the coverage
// Departed, hints kept) — the path b2c3e72's soft standing reads. A stolen linked device of
// h rekeys with a slot for one member installation only, w (offline); h, which has not
// seen that block, revokes the device: the revocation's own key block is concurrent with
// the thief's, so the frontier holds both (departedMayCompute) and every online member
// lacks the thief's seed. missingOnlyDeparted does not hold (the epoch of the frontier
// without the thief's block was never live on them), so each takes the "waiting for a
// seed: its sender repeats it" branch of healV2 — the sender is revoked and never will —
// and nobody heals until a member happens to send (that send rekeys first). Not from
// b2c3e72: with b2c3e72's three files reverted the outcome is the same (designated is never
// reached); the thief does not pick the designated installation, it stops the eager heal.
//
// Asserted: within 5 s of the revocation reaching every online member, one of them heals
// (an eager rekey) and the group is found healed on all of them.
func TestReview19RevokedBlockNoEagerHeal(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 1901}, 7)
	a, h := tn.peers[0], tn.peers[1]
	tn.connect(tn.peers...)
	base := slices.Clone(tn.peers) // the 7 member accounts' installations
	thief := tn.link(h, "h-phone")
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "picked", "", ids(base[1:]...)...)
	must(t, err)
	all := append(slices.Clone(base), thief)
	tn.waitFor("joined", func() bool {
		for _, p := range all {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, all...)

	// w: the member installation with the largest id (not a, not h: they stay online).
	ws := slices.Clone(base[2:])
	slices.SortFunc(ws, func(p, q *peer) int {
		ip, iq := protocol.OwnInstallationForTest(p.c), protocol.OwnInstallationForTest(q.c)
		return bytes.Compare(ip[:], iq[:])
	})
	w := ws[len(ws)-1]
	wid := protocol.OwnInstallationForTest(w.c)
	var online []*peer // the members that read: all but w and h
	for _, p := range base {
		if p != w && p != h {
			online = append(online, p)
		}
	}
	w.pause()
	h.pause() // h revokes without the thief's block: its revocation's block is concurrent with it
	_, f0, _ := protocol.EpochInfo(a.c, g)
	protocol.SetSlotTargetsHookForTest(thief.c, func(targets []storage.InstallationRecord) []storage.InstallationRecord {
		i := slices.IndexFunc(targets, func(r storage.InstallationRecord) bool { return r.ID == wid })
		if i < 0 {
			t.Errorf("set-up: w not among the thief's slot targets")
			return targets
		}
		return targets[i : i+1]
	})
	must(t, thief.c.Rekey(ctx, g))
	tn.waitFor("the thief's block applied on every online member", func() bool {
		for _, p := range online {
			if _, f, _ := protocol.EpochInfo(p.c, g); slices.Equal(f, f0) {
				return false
			}
		}
		return true
	})
	thief.pause()
	before := rekeysOf(online...)
	thiefID := installationOf(t, thief)
	must(t, h.c.RevokeInstallation(ctx, thiefID))
	tn.waitFor("revocation processed by every online member", func() bool {
		for _, p := range online {
			ct, err := p.c.Contact(ctx, h.id)
			if err != nil || slices.Contains(ct.Installations, thiefID) {
				return false
			}
		}
		return true
	})
	start := time.Now()
	healed := func() int {
		n := 0
		for _, p := range online {
			if _, fresh, err := protocol.HealthyForTest(p.c, g); err == nil && fresh {
				n++
			}
		}
		return n
	}
	for time.Since(start) < 5*time.Second && (rekeysOf(online...) == before || healed() < len(online)) {
		time.Sleep(50 * time.Millisecond)
	}
	heals, ok := rekeysOf(online...)-before, healed()
	var who []string
	for _, p := range append(online, h, w) {
		id := protocol.OwnInstallationForTest(p.c)
		who = append(who, fmt.Sprintf("%s %x", p.name, id[:2]))
	}
	t.Logf("installations: %s (w %s)", strings.Join(who, ", "), w.name)
	t.Logf("the revoked device's block with a slot for the offline w only: %d eager heals by the %d online members in %v, %d of them find the group healed",
		heals, len(online), time.Since(start).Round(time.Millisecond), ok)
	if heals == 0 || ok < len(online) {
		t.Errorf("the revoked device's block gave a slot to the offline w only: %d heals by the %d online members within 5 s, %d of them healed — every online member waits for a seed from the revoked device",
			heals, len(online), ok)
	}
	// What a send does meanwhile (not asserted: it rekeys first).
	mustSend(t, a, g, "after the revocation")
	waitTexts(t, tn, g, []string{"after the revocation"}, online...)
	t.Logf("after a's send: %d heals by the online members", rekeysOf(online...)-before)
}
