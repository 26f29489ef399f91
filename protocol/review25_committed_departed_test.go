package protocol_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
)

// TestReview25CommittedDepartedAuthor — a COMMITTED membership key event M (field 103: a
// current-version admin's) whose author departs right after it. Scene: review20Scene (a, b,
// m admins, all current-version; c outside). b is taken off the network; m makes M and
// departs; the group topic's envelopes since M are handed to b (ReceiveLiveForTest), then b
// comes back and settles. Modes:
//   - "add-block-first" (control): m adds c (M), m leaves (L), a sends (its send heals the
//     leave first: H, prev {M}), c sends; b gets them in publish order;
//   - "add-leave-first": the same envelopes, M's publish last (b missed it live, fetched it
//     by a later Sync/history): L waits pending for M, H and the texts before M, and M's
//     publish applies M and L together: M's block meets m no member;
//   - "removal-block-first" / "removal-leave-first": c added by a before (everyone), then
//     m removes c (M) and leaves; the same two orders;
//   - "add-removed-leave-first": m adds c (M), steps down, a removes m (R); M's publish last.
//
// Asserted, at b after it settles: M applied (as at a), no more ids held on a member's
// word than before, b on the same epoch as a (and c where c is a member), its schedule
// knowing as many key events as a's, b reads a's and c's texts sent after the heal, and a
// and c read the text b sends then; in the M-last modes also that nothing published after
// M opened at b before M's publish.
//
// Not a hole — a passing regression test (review 25). Unlike an uncommitted M (review 24,
// where b refuses M and a's heal is sealed under the epoch before M, which b opens), a
// committed M is applied by every member: everything published after it (the leave, the
// removal, the step-down, the heal, the texts) is sealed under an epoch whose frontier holds
// M or a descendant (rekeyOuter drops only coverage-Departed events, and M was applied with
// its author a member), and a publish opens only under a live epoch ("Processing order").
// At b they wait as whole envelopes until M's publish (sealed under the epoch before M)
// brings M: its message and block are taken in one dispatch with m still a member, M is
// applied, then the pending envelopes apply. The refusedDeparted / ErrNotMember branch is
// never reached for M on the group topic's paths (live, Sync, history); a member's Welcome
// reaches it (TestReview25CommittedDepartedWelcome, failing). Measured (review25 = merge of fix25-fix28 + perf16): 5 modes pass 3
// of 3 runs (+1 -race); in every mode b applied M, held 0 ids (base 0, unseen 0), its
// schedule bytes equal a's (495 add, 592 removal, 430 add-removed in block-first and
// M-last alike), same epoch, b read "from a"/"from c", its send rekeyed 0 times and a, c
// read it. Before M's publish in the M-last modes b still had m a member, M not applied.
func TestReview25CommittedDepartedAuthor(t *testing.T) {
	for _, mode := range []string{"add-block-first", "add-leave-first", "removal-block-first", "removal-leave-first", "add-removed-leave-first"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, m, c, g := review20Scene(t, 2511)
			ctx := context.Background()
			info, err := a.c.Group(ctx, g)
			must(t, err)
			topic := info.Topic
			removal := mode == "removal-block-first" || mode == "removal-leave-first"
			blockFirst := mode == "add-block-first" || mode == "removal-block-first"
			if removal {
				must(t, a.c.AddMembers(ctx, g, c.id))
				tn.settle()
				waitSameEpoch(tn, g, a, b, m, c)
			}
			baseOnA, baseAll, baseUnseen := protocol.HeldForTest(b.c, g, a.id)
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
			if !removal {
				waitSameEpoch(tn, g, a, m, c)
			} else {
				waitSameEpoch(tn, g, a, m)
			}
			_, fa, _ := protocol.EpochInfo(a.c, g)
			if len(fa) != 1 {
				t.Fatalf("setup: a's frontier after M has %d events, want 1 (M)", len(fa))
			}
			mID := fa[0]
			if mode == "add-removed-leave-first" {
				must(t, protocol.StepDownForTest(m.c, g))
				tn.settle(a, m, c)
				tn.waitFor("m no admin at a", func() bool {
					ia, err := a.c.Group(ctx, g)
					return err == nil && !slices.Contains(ia.Admins, m.id)
				})
				must(t, a.c.RemoveMembers(ctx, g, m.id)) // R
			} else {
				must(t, m.c.Leave(ctx, g)) // L
			}
			tn.settle(a, m, c)
			tn.waitFor("m no member at a", func() bool {
				ia, err := a.c.Group(ctx, g)
				return err == nil && !slices.Contains(ia.Members, m.id)
			})
			mustSend(t, a, g, "from a") // heals the leave first if nobody has yet
			tn.settle(a, c)
			others := []*peer{a}
			if !removal {
				others = append(others, c)
				waitSameEpoch(tn, g, a, c)
				mustSend(t, c, g, "from c")
				tn.settle(a, c)
			}
			envs, err := tn.net.Join("reader").History(ctx, []string{topic}, start, time.Time{})
			must(t, err)
			if !blockFirst {
				envs = append(envs[1:], envs[0]) // M's publish last
			}
			n := len(envs)
			if !blockFirst {
				n-- // M's publish handed last, alone
			}
			protocol.ReceiveLiveForTest(b.c, slices.Clone(envs[:n]))
			if !blockFirst {
				// What makes it converge: everything published after M is sealed under an
				// epoch whose frontier holds M (or names it), so none of it opens at b
				// before M's publish does; M's message and block are then taken in one
				// dispatch, m still a member at b.
				ib, err := b.c.Group(ctx, g)
				must(t, err)
				openedEarly := !slices.Contains(ib.Members, m.id) || slices.Contains(ib.Members, c.id) != removal // L or M applied
				t.Logf("%s: before M's publish (%d envelopes after it handed): b m a member %v, M applied %v",
					mode, n, slices.Contains(ib.Members, m.id), protocol.AppliedKeyEventForTest(b.c, g, mID))
				if openedEarly || protocol.AppliedKeyEventForTest(b.c, g, mID) {
					t.Errorf("%s: an envelope published after M opened at b before M's publish", mode)
				}
				protocol.ReceiveLiveForTest(b.c, slices.Clone(envs[n:]))
			}
			onAMid, allMid, unseenMid := protocol.HeldForTest(b.c, g, a.id)
			t.Logf("%s: %d envelopes handed to b; then applied M %v, held on a's word %d (all %d), unseen %d",
				mode, len(envs), protocol.AppliedKeyEventForTest(b.c, g, mID), onAMid, allMid, unseenMid)
			tn.net.SetOffline(b.name, false)
			tn.settle()
			tn.waitFor("b: m no member", func() bool {
				ib, err := b.c.Group(ctx, g)
				return err == nil && !slices.Contains(ib.Members, m.id) && slices.Contains(ib.Members, c.id) != removal
			})
			tn.settle()
			// Measured state of b against a.
			appliedB, appliedA := protocol.AppliedKeyEventForTest(b.c, g, mID), protocol.AppliedKeyEventForTest(a.c, g, mID)
			onA, all, unseen := protocol.HeldForTest(b.c, g, a.id)
			_, fb, eb := protocol.EpochInfo(b.c, g)
			_, fa2, ea := protocol.EpochInfo(a.c, g)
			t.Logf("%s: M applied at b %v (at a %v); b holds %d on a's word (base %d), %d all (base %d), unseen %d (base %d); schedule bytes b %d a %d, known b %d a %d; frontier b %d a %d, same epoch %v",
				mode, appliedB, appliedA, onA, baseOnA, all, baseAll, unseen, baseUnseen,
				protocol.ScheduleSizeForTest(b.c, g), protocol.ScheduleSizeForTest(a.c, g),
				protocol.KnownKeyEventsForTest(b.c, g), protocol.KnownKeyEventsForTest(a.c, g),
				len(fb), len(fa2), eb == ea && eb != (epoch.ID{}))
			if appliedB != appliedA {
				t.Errorf("%s: M applied at b %v, at a %v: b misses the key event the others applied", mode, appliedB, appliedA)
			}
			if all > baseAll {
				t.Errorf("%s: b holds %d more ids on a member's word after M (%d on a's): M, named by the heal, held for good",
					mode, all-baseAll, onA-baseOnA)
			}
			if eb != ea || eb == (epoch.ID{}) {
				t.Errorf("%s: b's epoch differs from a's", mode)
			}
			if kb, ka := protocol.KnownKeyEventsForTest(b.c, g), protocol.KnownKeyEventsForTest(a.c, g); kb != ka {
				t.Errorf("%s: b's schedule knows %d key events, a's %d", mode, kb, ka)
			}
			texts := []string{"from a"}
			if !removal {
				texts = append(texts, "from c")
			}
			for _, text := range texts {
				if !readWithin(tn, b, g, text, 5*time.Second) {
					t.Errorf("%s: b did not read %q (sent after the heal)", mode, text)
				}
			}
			rekeys := protocol.RekeysForTest(b.c)
			mustSend(t, b, g, "from b")
			tn.settle()
			t.Logf("%s: b's send rekeyed %d times", mode, protocol.RekeysForTest(b.c)-rekeys)
			for _, p := range others {
				if !readWithin(tn, p, g, "from b", 5*time.Second) {
					t.Errorf("%s: %s did not read b's text", mode, p.name)
				}
			}
		})
	}
}

// readWithin reports whether p reads text in g within d, settling p meanwhile.
func readWithin(tn *testNet, p *peer, g protocol.GroupID, text string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.texts(g)[text] == 0 {
		if time.Now().After(deadline) {
			return false
		}
		tn.settle(p)
	}
	return true
}

// TestReview25CommittedDepartedWelcome (review 25 hole, fixed by fix29) — the one path found by
// which a member applies a committed membership key event M's event together with its
// author's leave L before M's publish: a member's Welcome (what the designated installation
// sends a coverage gap: the group's log and a join of its frontier) whose log carries M and
// L and whose join is the heal H (prev {M}); H, a rekey entry, passes checkJoinPrev (its id
// commits to its prev) and M is held on a's word. M's publish, met after, is refused
// (ErrNotMember: its author is gone and M is committed, so refusedDeparted does not take
// it): M is never applied, its prev {E0} (the epoch before M) never known, so E0 stays in
// b's frontier beside H. Scene: review20Scene; b offline; m (current version) adds c (M),
// leaves (L); a's send heals (H, prev {M}); c sends; a sends b a member's Welcome by hand
// (SendWelcomeV2ForTest with FrontierJoinForTest: in this scene b is no gap, so nobody
// sends it one; an honest one reaches an installation M's slots missed). "welcome-first":
// b gets the Welcome (its inbox topic) first, then the group topic's envelopes, M's
// publish last; control "block-first": the group topic in publish order, then the Welcome;
// control "welcome-first-author-stays": as welcome-first but a's Rekey is H and m does not
// leave (M's publish then applies M: the departure is what splits).
// Asserted: b applies M (as a does), is on a's epoch, a and c read what b sends after, and
// (not in author-stays) b holds no more ids on a member's word than before.
// Measured (review25 = merge15: fix25-fix28 + perf16), 3 of 3 runs + 1 -race: welcome-first
// fails — M not applied at b, b's frontier {E0, H} (a's {H}), b holds 2 ids on a's word (M,
// H: H's block, sealed under {M}, never opens at b), schedule 730 bytes (a 495); b's next
// send rekeys (prev {E0, H}) and neither a nor c read it, nor b's later texts: b is split
// for good while still reading a. block-first passes (M applied, 495 = 495 bytes, held 0);
// author-stays passes (M applied, same epoch, texts both ways; b holds 1 id on a's word).
// Fixed (fix29, departedAfter): M's block is taken as a member's (m departed causally after
// M); welcome-first passes 3 of 3 (+1 -race): M applied, same epoch, frontier b = a's,
// texts both ways; b holds 1 id on a's word (H's Welcome entry, as in author-stays: the
// reviewer's side note, left) and its send rekeys once; replaying the topic changes nothing.
// fix30 (asserted since): no mode holds an id on a member's word, and b's next send rekeys 0
// times — before, welcome-first and author-stays failed 3 of 3 (held 1: H's publish, sealed
// under {M}, never opened; welcome-first's send rekeyed once: H's coverage never recorded).
// Fixed: M's seed kept for opening when M is applied superseded (keepSuperseded), and a
// Welcome-applied event's coverage recorded from its block when first seen. Also asserted:
// tampered copies of M's block (tamperedM) leave b's schedule and meta byte-identical.
func TestReview25CommittedDepartedWelcome(t *testing.T) {
	for _, mode := range []string{"block-first", "welcome-first", "welcome-first-author-stays"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, m, c, g := review20Scene(t, 2521)
			stays := mode == "welcome-first-author-stays"
			ctx := context.Background()
			info, err := a.c.Group(ctx, g)
			must(t, err)
			topic := info.Topic
			_, baseAll, baseUnseen := protocol.HeldForTest(b.c, g, a.id)
			_, f0, _ := protocol.EpochInfo(b.c, g) // E0: the frontier before M
			tn.net.SetOffline(b.name, true)
			start := time.Now().Add(-time.Millisecond)
			must(t, m.c.AddMembers(ctx, g, c.id)) // M
			tn.settle(a, m, c)
			waitSameEpoch(tn, g, a, m, c)
			_, fa, _ := protocol.EpochInfo(a.c, g)
			if len(fa) != 1 {
				t.Fatalf("setup: a's frontier after M has %d events, want 1 (M)", len(fa))
			}
			mID := fa[0]
			if stays {
				must(t, a.c.Rekey(ctx, g)) // H, prev {M}: no leave
			} else {
				must(t, m.c.Leave(ctx, g)) // L
				tn.settle(a, m, c)
				tn.waitFor("m no member at a", func() bool {
					ia, err := a.c.Group(ctx, g)
					return err == nil && !slices.Contains(ia.Members, m.id)
				})
			}
			tn.settle(a, m, c)
			mustSend(t, a, g, "from a") // H first
			tn.settle(a, c)
			waitSameEpoch(tn, g, a, c)
			mustSend(t, c, g, "from c")
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
			// A tampered M block (fix30, attacker question): an insider holding E0's keys (m,
			// gone) re-seals M's publish with one byte of its block changed — in b's slot
			// (the seed fix30 keeps from), in the middle, at the end (its signature) — met
			// at b before the genuine one (after the Welcome, in the welcome-first modes:
			// M then superseded by H, the state in which b keeps M's seed). b's key
			// schedule and meta stay byte-identical.
			if mode != "block-first" {
				protocol.ReceiveLiveForTest(b.c, slices.Clone(inbox))
			}
			tamperedM(t, b, g, topic, envs[0].Payload)
			if mode != "block-first" {
				envs = append(envs[1:], envs[0]) // M's publish last
				protocol.ReceiveLiveForTest(b.c, slices.Clone(envs))
			} else {
				protocol.ReceiveLiveForTest(b.c, slices.Clone(envs))
				protocol.ReceiveLiveForTest(b.c, slices.Clone(inbox))
			}
			tn.net.SetOffline(b.name, false)
			tn.settle()
			tn.waitFor("b: c a member, m not (m a member if it stays)", func() bool {
				ib, err := b.c.Group(ctx, g)
				return err == nil && slices.Contains(ib.Members, c.id) && slices.Contains(ib.Members, m.id) == stays
			})
			tn.settle()
			onA, all, unseen := protocol.HeldForTest(b.c, g, a.id)
			appliedB := protocol.AppliedKeyEventForTest(b.c, g, mID)
			_, fb, eb := protocol.EpochInfo(b.c, g)
			_, _, ea := protocol.EpochInfo(a.c, g)
			t.Logf("%s: %d group, %d inbox envelopes; M applied at b %v; b holds %d on a's word, %d all (base %d), unseen %d (base %d); schedule bytes b %d a %d, known b %d a %d; frontier b %d, same epoch %v",
				mode, len(envs), len(inbox), appliedB, onA, all, baseAll, unseen, baseUnseen,
				protocol.ScheduleSizeForTest(b.c, g), protocol.ScheduleSizeForTest(a.c, g),
				protocol.KnownKeyEventsForTest(b.c, g), protocol.KnownKeyEventsForTest(a.c, g), len(fb), eb == ea && eb != (epoch.ID{}))
			_, fa2, _ := protocol.EpochInfo(a.c, g)
			t.Logf("%s: frontier before M %s; b's %s; a's %s", mode, shortIDs(f0), shortIDs(fb), shortIDs(fa2))
			for _, text := range []string{"from a", "from c"} {
				if !readWithin(tn, b, g, text, 5*time.Second) {
					t.Errorf("%s: b did not read %q", mode, text)
				}
			}
			rekeys := protocol.RekeysForTest(b.c)
			mustSend(t, b, g, "from b")
			tn.settle()
			sendRekeys := protocol.RekeysForTest(b.c) - rekeys
			t.Logf("%s: b's send rekeyed %d times", mode, sendRekeys)
			for _, p := range []*peer{a, c} {
				if !readWithin(tn, p, g, "from b", 5*time.Second) {
					t.Errorf("%s: %s did not read b's text", mode, p.name)
				}
			}
			mustSend(t, a, g, "from a again")
			tn.settle()
			t.Logf("%s: after b's send and a's next: b reads a's %v; a reads b's %v, c reads b's %v", mode,
				readWithin(tn, b, g, "from a again", 5*time.Second), readWithin(tn, a, g, "from b", time.Second), readWithin(tn, c, g, "from b", time.Second))
			if !appliedB {
				t.Errorf("%s: b never applied M (the others did): its block met m no member", mode)
			}
			if eb != ea || eb == (epoch.ID{}) {
				t.Errorf("%s: b's epoch (frontier %s) is not a's: b is split from the group", mode, shortIDs(fb))
			}
			// Every mode (fix30): H's Welcome entry is released once H's publish opens at b.
			// Before fix30 the welcome-first modes held 1 (H: its publish is sealed under
			// {M}, whose seed b did not take — M was superseded by H when its block came) and
			// b's next send rekeyed once (when M's author departed). M itself is no longer
			// held since fix29 (welcome-first held 2, M and H, before).
			if all > baseAll {
				t.Errorf("%s: b holds %d more ids on a member's word (%d on a's) for good", mode, all-baseAll, onA)
			}
			// b is on a's epoch and holds nothing: its send has no reason to rekey.
			if sendRekeys != 0 {
				t.Errorf("%s: b's send rekeyed %d times (want 0: nothing held, same epoch)", mode, sendRekeys)
			}
			// The door stays shut (fix29): a departed author's blocks replayed (the whole
			// topic again, replay markers bypassed, M's publish last) gain nothing: b's
			// schedule and meta do not change — M's block is taken once, as the block-first
			// order takes it, and nothing else of m's is applied.
			sched, meta, err := protocol.KeysForTest(b.c, g)
			must(t, err)
			for i := range envs {
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

// tamperedM delivers to b copies of payload (a key event's publish b opens) whose block has
// one byte flipped — in b's slot, in the middle, last — re-sealed under the same epoch, and
// checks that b's key schedule and meta do not change.
func tamperedM(t *testing.T, b *peer, g protocol.GroupID, topic string, payload []byte) {
	t.Helper()
	pt, ep, err := epoch.OpenOuter(protocol.LiveEpochsForTest(b.c, g), topic, payload)
	must(t, err)
	f, err := wire.ParseFrameV2(pt)
	must(t, err)
	if f.Block == nil {
		t.Fatalf("tampered M: the publish carries no key block")
	}
	kb, err := epoch.ParseKeyBlock(epoch.ID(g), f.Block)
	must(t, err)
	h := kb.Hinter()
	sl, ok := kb.Find(h.Hint(epoch.Installation(installationOf(t, b))))
	if !ok {
		t.Fatalf("tampered M: no slot for b")
	}
	inSlot := bytes.Index(f.Block, sl.Message)
	if inSlot < 0 {
		t.Fatalf("tampered M: b's slot not found in the block's bytes")
	}
	sched, meta, err := protocol.KeysForTest(b.c, g)
	must(t, err)
	for _, at := range []int{inSlot + len(sl.Message)/2, len(f.Block) / 2, len(f.Block) - 1} {
		block := bytes.Clone(f.Block)
		block[at] ^= 0x01
		frame, err := (&wire.FrameV2{Block: block, Message: f.Message}).Marshal()
		must(t, err)
		sealed, err := epoch.SealOuter(rand.Reader, &ep, topic, frame)
		must(t, err)
		err = protocol.DispatchForTest(b.c, topic, sealed)
		t.Logf("tampered M (byte %d of %d): %v", at, len(block), err)
	}
	sched2, meta2, err := protocol.KeysForTest(b.c, g)
	must(t, err)
	if !bytes.Equal(sched, sched2) || !bytes.Equal(meta, meta2) {
		t.Errorf("tampered M blocks changed b's key schedule or meta")
	}
}

func shortIDs(f []epoch.ID) string {
	out := ""
	for _, id := range f {
		out += fmt.Sprintf("%x ", id[:4])
	}
	return out
}
