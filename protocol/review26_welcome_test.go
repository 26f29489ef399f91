package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
)

// TestReview26CommittedDepartedWelcomeVariants (review 26, scene 2 of the brief) — the
// welcome-first order of TestReview25CommittedDepartedWelcome (fix29's departedAfter) with
// the two variants last session named untested:
//   - "removal": M is a REMOVAL — a adds c (everyone), then m (current-version admin)
//     removes c (M, committed), then m leaves (L); a's send heals the leave (H, prev {M});
//   - "removed": M is m's add of c, and m's author is REMOVED by another admin rather than
//     leaving: m steps down (S), a removes m (R, a's committed membership key event, prev
//     {M}); a's send follows.
//
// b is offline throughout; a sends b a member's Welcome by hand (SendWelcomeV2ForTest with
// FrontierJoinForTest: its log carries M and the departure, its join the frontier after
// it). b gets the Welcome first, then the group topic's envelopes with M's publish LAST:
// M's event is applied with the departure before M's block is met, m no member
// (departedAfter: the removal/leave holds M in its causal past).
//
// Asserted at b after it settles: M applied (as at a), b on a's epoch, at most one more id
// held on a member's word than before (the Welcome entry's, as fix29's measured side
// note), b reads a's text, a reads b's text sent after, and replaying the topic's envelopes
// (replay markers bypassed) changes neither b's schedule nor its meta.
//
// Measured (review26 = main af1df7a): a PASSING regression test — both modes pass 3 of 3
// (+1 -race). In both b applies M (departedAfter: the leave, or a's removal after m's
// step-down, holds M in its past), b's frontier is a's, texts go both ways, b's send
// rekeys once, replaying the topic changes nothing. b holds 1 id on a's word (base 0):
// the Welcome entry fix29's side note names (schedule bytes b 608 / a 592 removal, 446 /
// 430 removed — the 16 bytes of that entry), left as there.
func TestReview26CommittedDepartedWelcomeVariants(t *testing.T) {
	for _, mode := range []string{"removal", "removed"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, m, c, g := review20Scene(t, 2621)
			removal := mode == "removal"
			ctx := context.Background()
			info, err := a.c.Group(ctx, g)
			must(t, err)
			topic := info.Topic
			if removal {
				must(t, a.c.AddMembers(ctx, g, c.id))
				tn.settle()
				waitSameEpoch(tn, g, a, b, m, c)
			}
			_, baseAll, _ := protocol.HeldForTest(b.c, g, a.id)
			tn.net.SetOffline(b.name, true)
			start := time.Now().Add(-time.Millisecond)
			if removal {
				must(t, m.c.RemoveMembers(ctx, g, c.id)) // M
			} else {
				must(t, m.c.AddMembers(ctx, g, c.id)) // M
			}
			tn.settle(a, m, c)
			tn.waitFor("a applied M", func() bool {
				ia, err := a.c.Group(ctx, g)
				return err == nil && slices.Contains(ia.Members, c.id) != removal
			})
			if removal {
				waitSameEpoch(tn, g, a, m)
			} else {
				waitSameEpoch(tn, g, a, m, c)
			}
			_, fa, _ := protocol.EpochInfo(a.c, g)
			if len(fa) != 1 {
				t.Fatalf("setup: a's frontier after M has %d events, want 1 (M)", len(fa))
			}
			mID := fa[0]
			if removal {
				must(t, m.c.Leave(ctx, g)) // L
			} else {
				must(t, protocol.StepDownForTest(m.c, g)) // S
				tn.settle(a, m, c)
				tn.waitFor("m no admin at a", func() bool {
					ia, err := a.c.Group(ctx, g)
					return err == nil && !slices.Contains(ia.Admins, m.id)
				})
				must(t, a.c.RemoveMembers(ctx, g, m.id)) // R
			}
			tn.settle(a, m, c)
			tn.waitFor("m no member at a", func() bool {
				ia, err := a.c.Group(ctx, g)
				return err == nil && !slices.Contains(ia.Members, m.id)
			})
			mustSend(t, a, g, "from a") // heals the departure first if nobody has yet
			tn.settle(a, c)
			join, err := protocol.FrontierJoinForTest(a.c, g)
			must(t, err)
			must(t, protocol.SendWelcomeV2ForTest(a.c, installationOf(t, b), g, join))
			tn.settle(a, c)
			reader := tn.net.Join("reader")
			envs, err := reader.History(ctx, []string{topic}, start, time.Time{})
			must(t, err)
			inbox, err := reader.History(ctx, []string{topics.InboxTopic(accountPubOf(t, b.id))}, start, time.Time{})
			must(t, err)
			protocol.ReceiveLiveForTest(b.c, slices.Clone(inbox))
			envs = append(envs[1:], envs[0]) // M's publish last
			protocol.ReceiveLiveForTest(b.c, slices.Clone(envs))
			tn.net.SetOffline(b.name, false)
			tn.settle()
			tn.waitFor("b: m no member, c's membership as at a", func() bool {
				ib, err := b.c.Group(ctx, g)
				return err == nil && slices.Contains(ib.Members, c.id) != removal && !slices.Contains(ib.Members, m.id)
			})
			tn.settle()
			onA, all, unseen := protocol.HeldForTest(b.c, g, a.id)
			appliedB, appliedA := protocol.AppliedKeyEventForTest(b.c, g, mID), protocol.AppliedKeyEventForTest(a.c, g, mID)
			_, fb, eb := protocol.EpochInfo(b.c, g)
			_, fa2, ea := protocol.EpochInfo(a.c, g)
			t.Logf("%s: %d group, %d inbox envelopes; M applied at b %v (a %v); b holds %d on a's word, %d all (base %d), unseen %d; schedule bytes b %d a %d, known b %d a %d; frontier b %s a %s, same epoch %v",
				mode, len(envs), len(inbox), appliedB, appliedA, onA, all, baseAll, unseen,
				protocol.ScheduleSizeForTest(b.c, g), protocol.ScheduleSizeForTest(a.c, g),
				protocol.KnownKeyEventsForTest(b.c, g), protocol.KnownKeyEventsForTest(a.c, g), shortIDs(fb), shortIDs(fa2), eb == ea && eb != (epoch.ID{}))
			if !readWithin(tn, b, g, "from a", 5*time.Second) {
				t.Errorf("%s: b did not read a's text", mode)
			}
			rekeys := protocol.RekeysForTest(b.c)
			mustSend(t, b, g, "from b")
			tn.settle()
			t.Logf("%s: b's send rekeyed %d times", mode, protocol.RekeysForTest(b.c)-rekeys)
			if !readWithin(tn, a, g, "from b", 5*time.Second) {
				t.Errorf("%s: a did not read b's text", mode)
			}
			if appliedB != appliedA {
				t.Errorf("%s: M applied at b %v, at a %v", mode, appliedB, appliedA)
			}
			if eb != ea || eb == (epoch.ID{}) {
				t.Errorf("%s: b's epoch (frontier %s) is not a's (%s)", mode, shortIDs(fb), shortIDs(fa2))
			}
			if all > baseAll+1 {
				t.Errorf("%s: b holds %d more ids on a member's word (%d on a's)", mode, all-baseAll, onA)
			}
			sched, meta, err := protocol.KeysForTest(b.c, g)
			must(t, err)
			for i := range envs {
				_ = protocol.DispatchForTest(b.c, envs[i].Topic, envs[i].Payload)
			}
			sched2, meta2, err := protocol.KeysForTest(b.c, g)
			must(t, err)
			if string(sched) != string(sched2) || string(meta) != string(meta2) {
				t.Errorf("%s: replaying the topic's envelopes changed b's key schedule or meta", mode)
			}
		})
	}
}
