package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// leaverRekey is the review 8 takeover scene: x leaves (L), the designated installation
// heals (H), and x, from its database before L, rekeys with prev = {H} (RX). late (paused
// since before L) received none of it; des is paused after H.
type leaverRekey struct {
	tn                      *testNet
	rec                     *pubRecorder
	g                       protocol.GroupID
	topic                   string
	des, admin, other, late *peer
	x                       *peer
	kept                    []epoch.Epoch // x's live epochs before L
	leave, heal, rekey      [][]byte      // the publishes (read with kept)
	healID, rx              epoch.ID
	rxBlock                 *epoch.KeyBlock // RX's block as x's frame holds it
	f0                      epoch.Frontier  // x's frontier when it rekeyed (restored: before L)
}

// newLeaverRekey builds the scene; legacy, if not nil, is applied to x before its rekey.
func newLeaverRekey(t *testing.T, seed int64, legacy func(*protocol.Client)) *leaverRekey {
	t.Helper()
	return newLeaverRekeyPrev(t, seed, legacy, nil)
}

// newLeaverRekeyPrev is newLeaverRekey with RX's prev set given by prevOf (x's frontier
// before L, and H) instead of {H}.
func newLeaverRekeyPrev(t *testing.T, seed int64, legacy func(*protocol.Client), prevOf func(f0 epoch.Frontier, h epoch.ID) epoch.Frontier) *leaverRekey {
	t.Helper()
	return newLeaverRekeyWith(t, seed, legacy, prevOf, nil)
}

// newLeaverRekeyWith is newLeaverRekeyPrev with before, if not nil, run once the group is
// made and everyone is on one epoch (before x's backup and leave).
func newLeaverRekeyWith(t *testing.T, seed int64, legacy func(*protocol.Client), prevOf func(f0 epoch.Frontier, h epoch.ID) epoch.Frontier, before func(*leaverRekey)) *leaverRekey {
	t.Helper()
	s := &leaverRekey{rec: &pubRecorder{}}
	s.tn = newEpochNet(t, memory.Config{Seed: seed, Tap: s.rec.tap}, 0)
	tn, rec := s.tn, s.rec
	ms := []*peer{tn.addPersistent("m0"), tn.addPersistent("m1"), tn.addPersistent("m2"), tn.addPersistent("m3")} // late restarts (TestRetractedRekeyStays)
	x := tn.addPersistent("x")
	s.x = x
	tn.connect(append(ms, x)...)
	ctx := context.Background()
	slices.SortFunc(ms, func(p, q *peer) int {
		a, b := installationOf(t, p), installationOf(t, q)
		return bytes.Compare(a[:], b[:])
	})
	s.des, s.admin, s.other, s.late = ms[0], ms[1], ms[2], ms[3]
	des, admin, other, late := s.des, s.admin, s.other, s.late
	g := joinedGroup(t, tn, "late", admin, des, other, late, x)
	s.g = g
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	s.topic = info.Topic
	if before != nil {
		before(s)
	}

	s.kept = protocol.LiveEpochsForTest(x.c, g)
	x.stop()
	backup := copyStore(t, x.path, t.TempDir())
	x.start(false)
	late.pause()
	rec.start()
	must(t, x.c.Leave(ctx, g))
	tn.settle(admin, des, other) // the designated installation heals (H)
	waitSameEpoch(tn, g, admin, des, other)
	_, fH, _ := protocol.EpochInfo(admin.c, g)
	for _, env := range rec.stop() {
		if env.Topic != s.topic {
			continue
		}
		switch f := protocol.OpenFrameForTest(s.kept, g, env.Topic, env.Payload); {
		case f.Block == nil && len(f.Events) > 0:
			s.leave = append(s.leave, env.Payload)
		case f.Block != nil && f.Block.Kind == epoch.KindRekey:
			s.heal, s.healID = append(s.heal, env.Payload), f.Block.Event
		}
	}
	if len(s.leave) == 0 || len(s.heal) == 0 || len(fH) != 1 || fH[0] != s.healID {
		t.Fatalf("precondition: %d leave and %d heal publishes read with x's epochs (frontier %s)", len(s.leave), len(s.heal), shortFrontier(fH))
	}

	x.stop()
	stale, _ := filepath.Glob(x.path + "*")
	for _, f := range stale {
		must(t, os.Remove(f))
	}
	copyStore(t, backup, filepath.Dir(x.path))
	tn.net.SetOffline(x.name, true)
	x.start(false)
	x.pause()
	tn.net.SetOffline(x.name, false)
	healID := s.healID
	protocol.SetRekeyPrevHookForTest(x.c, func(f0 epoch.Frontier) epoch.Frontier {
		s.f0 = slices.Clone(f0)
		if prevOf != nil {
			return prevOf(f0, healID)
		}
		return epoch.Frontier{healID}
	})
	if legacy != nil {
		legacy(x.c)
	}
	des.pause()
	n := len(rec.stop())
	rec.start()
	must(t, x.c.Rekey(ctx, g))
	_, fx, _ := protocol.EpochInfo(x.c, g)
	if len(fx) != 1 || fx[0] == healID {
		t.Fatalf("precondition: x did not rekey after H (frontier %s)", shortFrontier(fx))
	}
	s.rx = fx[0]
	for _, env := range newPubs(rec, n) {
		if f := protocol.OpenFrameForTest(s.kept, g, env.Topic, env.Payload); env.Topic == s.topic && f.Block != nil && f.Block.Event == s.rx {
			s.rekey, s.rxBlock = append(s.rekey, env.Payload), f.Block
		}
	}
	if len(s.rekey) == 0 {
		t.Fatal("precondition: x's rekey not recorded")
	}
	return s
}

func (s *leaverRekey) inject(p *peer, pubs [][]byte) {
	for _, b := range pubs {
		protocol.Inject(p.c, s.topic, b)
	}
}

// TestReview11RekeyBeforeLeaveConverges (review 11): the order spec "Known limits" (2)
// says converges ("the applying member ... heals before sending, and the others apply that
// heal ... and converge"). In the scene above, late is handed RX first (x is a member
// there: RX is applied, H held on x's word, late's frontier {F0, RX}), then L, then H (held
// already: applied, it supersedes F0 and leaves late on {RX}, an epoch x computed alone).
// The others refused RX (H's heads hold L) and stay on {H}. The test asserts that late's
// next text is not sealed under an epoch x opens, and that the members reach one epoch and
// read each other's texts. Measured on main: x opens late's text (its 9 bytes); late stays
// on {RX} (no heal: RX's coverage is a member's, and H, applied after L but superseded,
// dropped x from Uncovered for sending it no slot), the others on {H}, for the 30 s of
// waitSameEpoch.
func TestReview11RekeyBeforeLeaveConverges(t *testing.T) {
	s := newLeaverRekey(t, 1101, nil)
	tn, g, admin, other, late := s.tn, s.g, s.admin, s.other, s.late
	s.inject(late, s.rekey)
	if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
		t.Fatalf("precondition: late (x a member there) did not apply x's rekey")
	}
	s.inject(late, s.leave)
	s.inject(late, s.heal)
	for _, p := range []*peer{admin, other} {
		if protocol.AppliedKeyEventForTest(p.c, g, s.rx) {
			t.Fatalf("precondition: %s applied x's rekey", p.name)
		}
	}
	tn.settle(admin, other, late)
	logFrontiers(t, g, s.rx, s.healID, admin, other, late)
	// late sends: it must not seal under an epoch x computes (x would read it), and the
	// members must read it.
	xs := protocol.LiveEpochsForTest(s.x.c, g)
	s.lateSendsUnreadByX(t, xs, s.rx)
}

// TestReview11DowngradedLeaverRekeyRefused (review 11, a non-hole checked): x's rekey
// after the heal made as an older version's block (version 2 blocks; version 3 rekey ids,
// which name no heads and whose id commits to no prev) is refused as the version 5 one is
// (TestReview8LeaverTakesOverEpoch): the rule reads the heads the receiver keeps for the
// prev H, not the block's. Handed L, H, then RX, late refuses it too.
func TestReview11DowngradedLeaverRekeyRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(*protocol.Client)
		legacy func(*epoch.KeyBlock) bool
	}{
		{"v2", func(c *protocol.Client) { protocol.SetLegacyBlocksForTest(c, true) }, func(b *epoch.KeyBlock) bool { return b.LegacyHints }},
		{"v3", func(c *protocol.Client) { protocol.SetLegacyIDsForTest(c, true) }, func(b *epoch.KeyBlock) bool { return b.LegacyID && !b.LegacyHints }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLeaverRekey(t, 1102, tc.set)
			if !tc.legacy(s.rxBlock) || len(s.rxBlock.Heads) != 0 {
				t.Fatalf("precondition: x's rekey is not a %s block (LegacyHints %v, LegacyID %v, %d heads)", tc.name, s.rxBlock.LegacyHints, s.rxBlock.LegacyID, len(s.rxBlock.Heads))
			}
			s.inject(s.late, s.leave)
			s.inject(s.late, s.heal)
			s.inject(s.late, s.rekey)
			s.tn.settle(s.admin, s.other, s.late)
			for _, p := range []*peer{s.admin, s.other, s.late} {
				if protocol.AppliedKeyEventForTest(p.c, s.g, s.rx) {
					t.Errorf("%s applied x's %s rekey after its leave", p.name, tc.name)
				}
				if _, f, _ := protocol.EpochInfo(p.c, s.g); !slices.Equal(f, epoch.Frontier{s.healID}) {
					t.Errorf("%s: frontier %s, want the heal's %s", p.name, shortFrontier(f), shortFrontier(epoch.Frontier{s.healID}))
				}
			}
		})
	}
}

// TestRetractedRekeyStays (review 11 finding 1, spec "Authority", retraction): late,
// handed x's rekey RX, then x's leave L, then the heal H, retracts RX when H comes (H's
// heads hold L): its frontier is {H} at once, RX not applied, as at the members that had H
// first. A later copy of RX's publish is refused as the others refuse it (RX stays out,
// the frontier {H}), and a restart keeps it (the schedule stored with H's block, in one
// transaction); late then reads and sends with the others on H's epoch. The same when L
// reaches late only in H's message (a heal repeats the latest membership events). Before
// the retraction: late stayed on {RX} (TestReview11RekeyBeforeLeaveConverges).
func TestRetractedRekeyStays(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave bool // L handed to late on its own (else: only in the heal's message)
	}{{"leave then heal", true}, {"heal carrying the leave", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLeaverRekey(t, 1103, nil)
			tn, g, admin, other, late := s.tn, s.g, s.admin, s.other, s.late
			s.inject(late, s.rekey)
			if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
				t.Fatalf("precondition: late (x a member there) did not apply x's rekey")
			}
			if tc.leave {
				s.inject(late, s.leave)
			}
			s.inject(late, s.heal)
			want := epoch.Frontier{s.healID}
			check := func(when string) {
				t.Helper()
				if protocol.AppliedKeyEventForTest(late.c, g, s.rx) {
					t.Errorf("%s: late applied x's rekey", when)
				}
				if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, want) {
					t.Errorf("%s: late's frontier %s, want the heal's %s", when, shortFrontier(f), shortFrontier(want))
				}
			}
			check("after the heal")
			s.inject(late, s.rekey)
			check("x's rekey again")
			late.stop()
			late.start(false)
			check("after a restart")
			tn.settle(admin, other, late)
			check("settled")
			waitSameEpoch(tn, g, admin, other, late)
			mustSend(t, late, g, "late after restart")
			mustSend(t, admin, g, "admin")
			waitTexts(t, tn, g, []string{"late after restart"}, admin, other)
			waitTexts(t, tn, g, []string{"admin"}, late)
		})
	}
}

func logFrontiers(t *testing.T, g protocol.GroupID, rx, h epoch.ID, ps ...*peer) {
	t.Helper()
	for _, p := range ps {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("%s: frontier %s epoch %x (H %x, RX %x; RX applied %v)", p.name, shortFrontier(f), e[:4], h[:4], rx[:4], protocol.AppliedKeyEventForTest(p.c, g, rx))
	}
}

// shortFrontier abbreviates a frontier's ids for logs.
func shortFrontier(f epoch.Frontier) []string {
	out := make([]string, len(f))
	for i, id := range f {
		out[i] = fmt.Sprintf("%x", id[:4])
	}
	return out
}

// lateSendsUnreadByX has late send a text once the departure and the heal are in: x,
// holding the epochs xs, must open none of late's publishes but key blocks, and the
// members must reach one epoch and read each other (logged with the frontiers of mark).
func (s *leaverRekey) lateSendsUnreadByX(t *testing.T, xs []epoch.Epoch, mark epoch.ID) {
	t.Helper()
	tn, g, admin, other, late := s.tn, s.g, s.admin, s.other, s.late
	n := len(s.rec.stop())
	s.rec.start()
	mustSend(t, late, g, "from late")
	tn.settle(admin, other, late)
	for _, env := range newPubs(s.rec, n) {
		if f := protocol.OpenFrameForTest(xs, g, env.Topic, env.Payload); env.Topic == s.topic && f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("x (departed) opens late's publish (key block %v, %d bytes)", f.Block != nil, len(f.Body))
		}
	}
	logFrontiers(t, g, mark, s.healID, admin, other, late)
	waitSameEpoch(tn, g, admin, other, late)
	mustSend(t, other, g, "from other")
	waitTexts(t, tn, g, []string{"from late"}, admin, other)
	waitTexts(t, tn, g, []string{"from other"}, admin, late)
}
