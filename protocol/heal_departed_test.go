package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// Review 19 (fix19heal): the seeds a member lacks are only those of departed authors —
// a revoked installation's, a removed or left account's rekey — whose authors never
// repeat them. The designated installation heals (then the overdue rule), and the
// departed author can neither pick who heals, nor make the group heal more than once,
// nor stop the heal with more blocks. TestReview19RevokedBlockNoEagerHeal is the scene
// of the review; these are the attacker's variants.

// away pauses p (Run stopped) and keeps the test network's waits from syncing it (they
// sync every device whose Run is set, paused ones too) until the returned back is called
// (then they sync it again; no live input) or the test ends.
func away(t *testing.T, p *peer) (back func()) {
	p.pause()
	r := p.dev.Run
	p.dev.Run, p.run = nil, nil
	t.Cleanup(func() { p.dev.Run = r }) // before the network's cleanup (LIFO): it stops p
	return func() { p.dev.Run, p.run = r, r }
}

// slotOnly has c's key blocks give a slot to installation id only.
func slotOnly(t *testing.T, c *protocol.Client, id protocol.InstallationID) {
	protocol.SetSlotTargetsHookForTest(c, func(targets []storage.InstallationRecord) []storage.InstallationRecord {
		i := slices.IndexFunc(targets, func(r storage.InstallationRecord) bool { return r.ID == id })
		if i < 0 {
			t.Errorf("set-up: %x not among the slot targets", id[:2])
			return nil
		}
		return targets[i : i+1]
	})
}

// instLess reports whether p's installation id is below q's.
func instLess(p, q *peer) bool {
	ip, iq := protocol.OwnInstallationForTest(p.c), protocol.OwnInstallationForTest(q.c)
	return bytes.Compare(ip[:], iq[:]) < 0
}

// byID returns ps sorted by installation id.
func byID(ps []*peer) []*peer {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(p, q *peer) int {
		ip, iq := protocol.OwnInstallationForTest(p.c), protocol.OwnInstallationForTest(q.c)
		return bytes.Compare(ip[:], iq[:])
	})
	return out
}

// waitHealed waits up to d for a heal by one of online and every one of them to find the
// group healed; it returns the rekeys each authored since before (by index).
func waitHealed(t *testing.T, g protocol.GroupID, online []*peer, before []int, d time.Duration) []int {
	t.Helper()
	start := time.Now()
	counts := func() ([]int, int) {
		out, n := make([]int, len(online)), 0
		for i, p := range online {
			out[i] = protocol.RekeysForTest(p.c) - before[i]
			n += out[i]
		}
		return out, n
	}
	healed := func() int {
		n := 0
		for _, p := range online {
			if _, fresh, err := protocol.HealthyForTest(p.c, g); err == nil && fresh {
				n++
			}
		}
		return n
	}
	for time.Since(start) < d {
		if _, n := counts(); n > 0 && healed() == len(online) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a concurrent heal, if any, shows by now
	c, n := counts()
	t.Logf("%d heals by the %d online members (per member %v) after %v, %d of them healed",
		n, len(online), c, time.Since(start).Round(time.Millisecond), healed())
	if n == 0 || healed() < len(online) {
		t.Fatalf("%d heals by the %d online members within %v, %d of them healed", n, len(online), d, healed())
	}
	return c
}

func rekeysEach(ps []*peer) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = protocol.RekeysForTest(p.c)
	}
	return out
}

// TestHealDepartedRevokedOnce: the scene of TestReview19RevokedBlockNoEagerHeal (the
// stolen device's block gives a slot to the away w only, its revocation's block is
// concurrent with it). The thief must not pick who heals, make the group heal twice,
// or stop the heal with more blocks: the one heal is the smallest online installation's,
// at once (h, the revoker, never applies the block and stands aside: revokerSiblings),
// whatever slots the thief gave (its hints are not read for a departed
// author: if they were, w would be designated alone and the others would stand aside);
// the thief's next rekey (it has not learnt it is revoked) is refused: no second heal,
// the frontier stays. h and w, back, catch up and read.
func TestHealDepartedRevokedOnce(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 1901}, 7)
	a, h := tn.peers[0], tn.peers[1]
	tn.connect(tn.peers...)
	base := slices.Clone(tn.peers)
	thief := tn.link(h, "h-phone")
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "once", "", ids(base[1:]...)...)
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
	ws := byID(base[2:])
	w := ws[len(ws)-1] // away, the thief's pick
	var online []*peer
	for _, p := range base {
		if p != w && p != h {
			online = append(online, p)
		}
	}
	online = byID(online)
	backW := away(t, w)
	backH := away(t, h)
	slotOnly(t, thief.c, protocol.OwnInstallationForTest(w.c))
	must(t, thief.c.Rekey(ctx, g))
	_, tf, _ := protocol.EpochInfo(thief.c, g) // its block alone
	tn.waitFor("the thief's block applied on every online member", func() bool {
		for _, p := range online {
			if _, f, _ := protocol.EpochInfo(p.c, g); !slices.Contains(f, tf[0]) {
				return false
			}
		}
		return true
	}, func() string {
		out := fmt.Sprintf("T %x;", tf[0][:2])
		for _, p := range all {
			_, f, cur := protocol.EpochInfo(p.c, g)
			out += fmt.Sprintf(" %s:", p.name)
			for _, e := range f {
				out += fmt.Sprintf("%x,", e[:2])
			}
			out += fmt.Sprintf("cur %x rekeys %d;", cur[:2], protocol.RekeysForTest(p.c))
		}
		return out
	})
	away(t, thief)
	before := rekeysEach(online)
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
	per := waitHealed(t, g, online, before, 4*time.Second) // h, the revoker, stands aside
	if instLess(h, online[0]) {
		t.Logf("h has the smallest installation id")
	}
	if per[0] != 1 || slices.Max(per[1:]) > 0 {
		t.Errorf("heals per online member by id %v, want one by the smallest (%s)", per, online[0].name)
	}
	_, healedF, _ := protocol.EpochInfo(a.c, g)

	// The thief, unaware, rekeys again (its block names its own): refused, no heal.
	after := rekeysEach(online)
	must(t, thief.c.Rekey(ctx, g))
	time.Sleep(1500 * time.Millisecond)
	tn.settle(online...)
	if n := rekeysOf(online...) - sum(after); n != 0 {
		t.Errorf("the revoked thief's next rekey cost %d more heals", n)
	}
	if _, f, _ := protocol.EpochInfo(a.c, g); !slices.Equal(f, healedF) {
		t.Errorf("the revoked thief's next rekey moved the frontier %v → %v", healedF, f)
	}

	// h and w catch up from the store, and everyone reads.
	backH()
	backW()
	tn.settle(append(slices.Clone(online), h, w)...)
	mustSend(t, a, g, "after the heal")
	tn.settle(append(slices.Clone(online), h, w)...)
	waitTexts(t, tn, g, []string{"after the heal"}, append(slices.Clone(online), h, w)...)
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestHealDepartedRemovedAuthorSeed: a member x rekeys with a slot for the away w only
// while the admin a (away too, not having seen it) removes x: the removal's block is
// concurrent with x's rekey, and every online member lacks x's seed. x, removed, never
// repeats it; before, each member waited for it ("its sender repeats it") and nobody
// healed until someone sent. Wanted: one heal, by the smallest online installation, no
// Welcomes (the heal is sealed under an epoch every online member holds), all healed.
func TestHealDepartedRemovedAuthorSeed(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 1902, Tap: rec.tap}, 7)
	a := tn.peers[0]
	tn.connect(tn.peers...)
	ctx := context.Background()
	g := joinedGroup(t, tn, "removed", a, tn.peers[1:]...)
	rest := byID(tn.peers[1:])
	w, x := rest[len(rest)-1], rest[len(rest)-2]
	var online []*peer
	for _, p := range tn.peers {
		if p != w && p != x && p != a {
			online = append(online, p)
		}
	}
	online = byID(online)
	away(t, w)
	away(t, a)
	slotOnly(t, x.c, protocol.OwnInstallationForTest(w.c))
	must(t, x.c.Rekey(ctx, g))
	_, xf, _ := protocol.EpochInfo(x.c, g) // its block alone
	tn.waitFor("x's block applied on every online member", func() bool {
		for _, p := range online {
			if _, f, _ := protocol.EpochInfo(p.c, g); !slices.Contains(f, xf[0]) {
				return false
			}
		}
		return true
	})
	away(t, x)
	before := rekeysEach(online)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	rec.start()
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.waitFor("removal applied by every online member", func() bool {
		for _, p := range online {
			gi, err := p.c.Group(ctx, g)
			if err != nil || slices.Contains(gi.Members, x.id) {
				return false
			}
		}
		return true
	})
	designatedAway := instLess(a, online[0]) ||
		instLess(w, online[0])
	d := 4 * time.Second
	if designatedAway {
		d = 12 * time.Second // the overdue rule: one heal grace per candidate before us
	}
	per := waitHealed(t, g, online, before, d)
	sent := rec.stop()
	pairwise := 0
	for _, env := range sent {
		if env.Topic != info.Topic {
			pairwise++
		}
	}
	if sum(per) != 1 {
		t.Errorf("heals per online member by id %v, want one", per)
	}
	if !designatedAway && per[0] != 1 {
		t.Errorf("heals per online member by id %v, want the smallest's (%s)", per, online[0].name)
	}
	if pairwise > 0 {
		t.Errorf("the heal of the removed x's block sent %d pairwise publishes (Welcomes) to members that open it under their live epoch", pairwise)
	}
	mustSend(t, online[0], g, "after the removal")
	waitTexts(t, tn, g, []string{"after the removal"}, online...)
}
