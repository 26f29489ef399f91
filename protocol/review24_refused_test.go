package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestReview24RefusedHeldAuthorLeft — fix24a (8535b41) releases the hold a heal H put on
// a refused uncommitted membership key event M (releaseRefused) only inside processKeyBlock's
// refused branch, which is reached only while M's author is a member: a block whose author
// is no member (not a rekey of a past member) returns ErrNotMember first. Review 23 hole 1
// thus stays open in the order where M's author has left by the time M's block is met.
// Scene: review20Scene (a, b, m admins; c outside); m's membership key events carry no field
// 103. b is taken off the network; m adds c (M); a applies M, refuses its block and heals
// (its send rekeys first: H names M); m then leaves (L, committed). The group topic's
// envelopes since M are handed to b: "heal-first" — M's publish last (b missed it live and
// fetches it by a later Sync/history): H holds M on a's word, L waits among the membership
// layer's pending events for M, and M's publish applies M and L together, so M's block is
// met with m no member; control "block-first" — publish order. Then b comes back, settles.
// Asserted: b, with c a member and m not, holds no more ids on a member's word than before.
// Measured (main fb7f261): "heal-first" fails — b holds 1 id (M) on a's word for good, 4 of 4
// runs (3 plain, 1 -race); "block-first" passes 4 of 4 (0 held: noteRefused, then refuseNamed). Both end
// with unseen 1. A removal of M's author would take the same path (not run: m is an admin).
// fix28: passes (refusedDeparted: M's block refused as while m was a member). Both modes
// also assert b keeps one seed of an event never applied (M's: known as refused, not in the
// frontier, not the current epoch) and that the topic's envelopes replayed without their
// replay markers leave b's schedule and meta bytes unchanged. "heal-first-removal": m
// steps down (an admin removes no admin) and a removes it (R, a membership key event
// naming M as parent) instead of L — passes before the fix too: R's publish waits as a
// whole envelope for M (not among the membership layer's pending events), so M's block is
// met while m is a member still.
func TestReview24RefusedHeldAuthorLeft(t *testing.T) {
	for _, mode := range []string{"block-first", "heal-first", "heal-first-removal"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, m, c, g := review20Scene(t, 2411)
			ctx := context.Background()
			baseOnA, baseAll, baseUnseen := protocol.HeldForTest(b.c, g, a.id)
			info, err := a.c.Group(ctx, g)
			must(t, err)
			topic := info.Topic
			tn.net.SetOffline(b.name, true)
			start := time.Now().Add(-time.Millisecond)
			protocol.SetMemberUncommittedForTest(m.c, true)
			must(t, m.c.AddMembers(ctx, g, c.id)) // M
			tn.settle(a, m, c)
			tn.waitFor("a applied M and refused its block", func() bool {
				ia, err := a.c.Group(ctx, g)
				listed, _ := protocol.RefusedForTest(a.c, g)
				_, _, unseen := protocol.HeldForTest(a.c, g, a.id)
				return err == nil && slices.Contains(ia.Members, c.id) && (listed > 0 || unseen > 0)
			})
			mustSend(t, a, g, "from a") // rekeys first: H names M
			tn.waitFor("a healed M", func() bool {
				_, open := protocol.RefusedForTest(a.c, g)
				return open == 0
			})
			tn.settle(a, m, c)
			protocol.SetMemberUncommittedForTest(m.c, false)
			if mode == "heal-first-removal" {
				// R: m removed by an admin (fix28); an admin removes no admin: m steps down first
				must(t, protocol.StepDownForTest(m.c, g))
				tn.settle(a, m, c)
				tn.waitFor("m no admin at a", func() bool {
					ia, err := a.c.Group(ctx, g)
					return err == nil && !slices.Contains(ia.Admins, m.id)
				})
				must(t, a.c.RemoveMembers(ctx, g, m.id))
			} else {
				must(t, m.c.Leave(ctx, g)) // L: m, M's author, is no member from now on
			}
			tn.settle(a, m, c)
			tn.waitFor("m removed at a", func() bool {
				ia, err := a.c.Group(ctx, g)
				return err == nil && !slices.Contains(ia.Members, m.id)
			})
			envs, err := tn.net.Join("reader").History(ctx, []string{topic}, start, time.Time{})
			must(t, err)
			if len(envs) < 3 {
				t.Fatalf("setup: %d envelopes on the group topic since M, want M's, the heal's, the removal's", len(envs))
			}
			if mode != "block-first" {
				envs = append(envs[1:], envs[0]) // M's publish last
			}
			protocol.ReceiveLiveForTest(b.c, slices.Clone(envs[:len(envs)-1]))
			onABefore, _, _ := protocol.HeldForTest(b.c, g, a.id)
			if mode != "block-first" && onABefore != baseOnA+1 {
				t.Fatalf("setup: before M's publish b holds %d on a's word (base %d): the heal naming M did not come first", onABefore, baseOnA)
			}
			protocol.ReceiveLiveForTest(b.c, slices.Clone(envs[len(envs)-1:]))
			onAMid, allMid, unseenMid := protocol.HeldForTest(b.c, g, a.id)
			t.Logf("%s: %d envelopes handed to b; then b holds %d on a's word (%d all), unseen %d", mode, len(envs), onAMid, allMid, unseenMid)
			tn.net.SetOffline(b.name, false)
			tn.settle()
			tn.waitFor("b: c a member, m not", func() bool {
				ib, err := b.c.Group(ctx, g)
				return err == nil && slices.Contains(ib.Members, c.id) && !slices.Contains(ib.Members, m.id)
			})
			waitTexts(t, tn, g, []string{"from a"}, b)
			tn.settle()
			onA, all, unseen := protocol.HeldForTest(b.c, g, a.id)
			listed, open := protocol.RefusedForTest(b.c, g)
			t.Logf("%s: b holds %d on a's word (before %d), %d on anyone's (before %d), unseen %d (before %d), refused listed %d open %d",
				mode, onA, baseOnA, all, baseAll, unseen, baseUnseen, listed, open)
			if all > baseAll {
				t.Errorf("%s: b holds %d more ids on a member's word after M: refused M spent from the healer's budget for good",
					mode, all-baseAll)
			}
			// fix28: the same state as the block-first order — M known as refused (never
			// applied, not in the frontier, not our epoch), its seed kept for opening.
			kept, applied, known, inFrontier := protocol.KeptForTest(b.c, g)
			_, _, current := protocol.EpochInfo(b.c, g)
			var refusedKept []int // kept seeds of events never applied: M's only
			for i := range kept {
				if !applied[i] {
					refusedKept = append(refusedKept, i)
				}
			}
			t.Logf("%s: b keeps %d seeds: applied %v known %v in frontier %v", mode, len(kept), applied, known, inFrontier)
			if len(refusedKept) != 1 || !known[refusedKept[0]] || inFrontier[refusedKept[0]] || current == kept[refusedKept[0]] {
				t.Errorf("%s: b keeps %d seeds of events never applied (want 1, M's: known as refused, not in the frontier, not the current epoch)",
					mode, len(refusedKept))
			}
			// A departed author's blocks replayed (the whole topic again, M's publish
			// last and first) gain nothing: b's state does not change.
			sched, meta, err := protocol.KeysForTest(b.c, g)
			must(t, err)
			for i := range envs { // replay markers bypassed
				err := protocol.DispatchForTest(b.c, envs[i].Topic, envs[i].Payload)
				t.Logf("%s: envelope %d replayed: %v", mode, i, err)
			}
			sched2, meta2, err := protocol.KeysForTest(b.c, g)
			must(t, err)
			if !bytes.Equal(sched, sched2) || !bytes.Equal(meta, meta2) {
				t.Errorf("%s: replaying the topic's envelopes changed b's key schedule or meta", mode)
			}
		})
	}
}
