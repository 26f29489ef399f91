package protocol_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview14PoisonedRecordsChainedRekey (review 14): converge10's records of provisional
// events are bounded (epoch.MaxProvisional = 32) and a record is dropped only once no id
// it depends on is held unseen. One rekey of a member naming a made-up prev id (held on
// its word for good: the id never comes) makes every later key event of the group
// provisional — each names the frontier, which descends from a recorded event — so after
// 32 ordinary rekeys every member's records are full, for good. Review 12's chained-rekey
// order (TestReview12RetractChainedRekey: x, departed, rekeys RX over the heal H and RX2
// over RX; late, handed both before L, then gets L and H) is then what it was before
// converge10: RX, out of the frontier and unrecorded, is never retracted, and late stays
// on an epoch RX2 makes.
//
// The scene: before x's backup, admin publishes a rekey whose prev names its frontier and
// a made-up id (SetRekeyPrevHookForTest), then des, admin and other rekey 32 times in
// turn (everyone settled after each). Asserted as in chainedRekey: after L and H late's
// frontier is {H}; then late's text is not opened by x and the members read each other.
// Measured with the frontier check not fatal: late stays on {RX2}, heals (x opens
// nothing), but its heal never reaches the others' epoch: no common epoch in
// waitSameEpoch's 30 s (late cut off from the group, as before converge10).
func TestReview14PoisonedRecordsChainedRekey(t *testing.T) {
	ctx := context.Background()
	poison := func(s *leaverRekey) {
		all := []*peer{s.des, s.admin, s.other, s.late, s.x}
		madeUp := epoch.ID(sha256.Sum256([]byte("review 14: an id that never comes")))
		protocol.SetRekeyPrevHookForTest(s.admin.c, func(f epoch.Frontier) epoch.Frontier {
			prev := append(slices.Clone(f), madeUp)
			slices.SortFunc(prev, func(a, b epoch.ID) int { return bytes.Compare(a[:], b[:]) })
			return prev
		})
		must(t, s.admin.c.Rekey(ctx, s.g))
		protocol.SetRekeyPrevHookForTest(s.admin.c, nil)
		s.tn.settle(all...)
		for i := range epoch.MaxProvisional {
			must(t, []*peer{s.des, s.admin, s.other}[i%3].c.Rekey(ctx, s.g))
			s.tn.settle(all...)
		}
		waitSameEpoch(s.tn, s.g, all...)
		t.Logf("records after a made-up prev and %d rekeys: late %d, admin %d, other %d (bound %d)", epoch.MaxProvisional,
			protocol.RecordedForTest(s.late.c, s.g), protocol.RecordedForTest(s.admin.c, s.g),
			protocol.RecordedForTest(s.other.c, s.g), epoch.MaxProvisional)
	}
	s := newLeaverRekeyWith(t, 1401, nil, nil, poison)
	tn, g, admin, other, late, x := s.tn, s.g, s.admin, s.other, s.late, s.x
	protocol.SetRekeyPrevHookForTest(x.c, nil)
	n := len(s.rec.stop())
	s.rec.start()
	must(t, x.c.Rekey(ctx, g))
	_, fx, _ := protocol.EpochInfo(x.c, g)
	if len(fx) != 1 || fx[0] == s.rx {
		t.Fatalf("precondition: x did not rekey over RX (frontier %s)", shortFrontier(fx))
	}
	rx2 := fx[0]
	var chained [][]byte
	for _, env := range newPubs(s.rec, n) {
		if f := protocol.OpenFrameForTest(protocol.LiveEpochsForTest(x.c, g), g, env.Topic, env.Payload); env.Topic == s.topic && f.Block != nil && f.Block.Event == rx2 {
			chained = append(chained, env.Payload)
		}
	}
	if len(chained) == 0 {
		t.Fatal("precondition: RX2 not recorded")
	}
	s.inject(late, s.rekey)
	s.inject(late, chained)
	if !protocol.AppliedKeyEventForTest(late.c, g, s.rx) || !protocol.AppliedKeyEventForTest(late.c, g, rx2) {
		t.Fatalf("precondition: late (x a member there) did not apply RX and RX2")
	}
	t.Logf("late's records with RX and RX2 applied: %d", protocol.RecordedForTest(late.c, g))
	s.inject(late, s.leave)
	s.inject(late, s.heal)
	if _, f, _ := protocol.EpochInfo(late.c, g); !slices.Equal(f, epoch.Frontier{s.healID}) {
		logFrontiers(t, g, rx2, s.healID, admin, other, late)
		t.Fatalf("after the heal: late's frontier %s, want the heal's %s (RX2 and RX retracted)", shortFrontier(f), shortFrontier(epoch.Frontier{s.healID}))
	}
	tn.settle(admin, other, late)
	s.lateSendsUnreadByX(t, protocol.LiveEpochsForTest(x.c, g), rx2)
}

// TestReview14ConcurrentAddFillsRecords (review 14): the records fill in honest operation
// too. TestConcurrentMembershipChanges' scene: a removes c while b, concurrently, adds e
// (and removes d). e never opens a's removal key event (sealed under an epoch e never
// had); b's heal, which e gets, names it as a prev, so e holds that id unseen for good and
// records the heal as provisional. Every later key event names a frontier descended from
// it: after MaxProvisional + 2 ordinary rekeys by a and b (everyone on one epoch after
// each), e's records are full (measured: 32 of 32; a and b: 0), for good — so at e the
// retraction of review 12's chained rekeys (TestReview14PoisonedRecordsChainedRekey) is
// refused from then on, with nobody doing anything wrong. Asserted: ordinary rekeys do not
// exhaust e's records (fewer than MaxProvisional after them).
func TestReview14ConcurrentAddFillsRecords(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 14}, 0)
	a, b := tn.addPersistent("a"), tn.addPersistent("b")
	c, d, e := tn.add("c"), tn.add("d"), tn.add("e")
	tn.connect(a, b, c, d, e)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id, d.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle()
	a.pause()
	b.pause()
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	must(t, b.c.AddMembers(ctx, g, e.id))
	must(t, b.c.RemoveMembers(ctx, g, d.id))
	a.restart()
	b.restart()
	tn.settle()
	waitSameEpoch(tn, g, a, b, e)
	t.Logf("after the concurrent changes: records a %d, b %d, e %d; ids e holds unseen that its records name: %d",
		protocol.RecordedForTest(a.c, g), protocol.RecordedForTest(b.c, g), protocol.RecordedForTest(e.c, g),
		len(protocol.HeldUnseenForTest(e.c, g)))
	for i := range epoch.MaxProvisional + 2 {
		must(t, []*peer{a, b}[i%2].c.Rekey(ctx, g))
		tn.settle(a, b, e)
	}
	waitSameEpoch(tn, g, a, b, e)
	ra, rb, re := protocol.RecordedForTest(a.c, g), protocol.RecordedForTest(b.c, g), protocol.RecordedForTest(e.c, g)
	t.Logf("after %d rekeys: records a %d, b %d, e %d (bound %d); schedule state a %d B, e %d B", epoch.MaxProvisional+2, ra, rb, re, epoch.MaxProvisional,
		protocol.ScheduleSizeForTest(a.c, g), protocol.ScheduleSizeForTest(e.c, g))
	if re >= epoch.MaxProvisional {
		t.Errorf("e's records are full (%d of %d) after ordinary rekeys: every later key event is provisional at e for good", re, epoch.MaxProvisional)
	}
}
