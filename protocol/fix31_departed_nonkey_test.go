package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// fix31Scene: fix25Scene (a creator, b and m admins, m's account on m and m2), then a adds
// c (a member, no admin).
func fix31Scene(t *testing.T, seed int64) (tn *testNet, a, b, m, m2, c *peer, g protocol.GroupID) {
	t.Helper()
	tn, a, b, m, m2, c, g = fix25Scene(t, seed)
	ctx := context.Background()
	must(t, a.c.AddMembers(ctx, g, c.id))
	tn.settle()
	tn.waitFor("c in the group", func() bool {
		info, err := c.c.Group(ctx, g)
		return err == nil && info.Status == protocol.GroupActive
	})
	waitSameEpoch(tn, g, a, b, c, m, m2)
	return tn, a, b, m, m2, c, g
}

// fromCount returns how many messages p stores in g from account.
func fromCount(t *testing.T, p *peer, g protocol.GroupID, account string) int {
	t.Helper()
	msgs, err := p.c.Messages(context.Background(), g, protocol.MessageFilter{})
	must(t, err)
	n := 0
	for _, msg := range msgs {
		if msg.Sender == account {
			n++
		}
	}
	return n
}

// fix31StepDownRemove: m2 steps down for m's account (an admin cannot be removed: rules 2,
// C2), a applies it and removes m. m (paused) sees neither.
func fix31StepDownRemove(t *testing.T, tn *testNet, a, m, m2 *peer, g protocol.GroupID) {
	t.Helper()
	ctx := context.Background()
	must(t, protocol.StepDownForTest(m2.c, g))
	tn.waitFor("a applied m's step-down", func() bool {
		info, err := a.c.Group(ctx, g)
		return err == nil && !slices.Contains(info.Admins, m.id)
	})
	must(t, a.c.RemoveMembers(ctx, g, m.id))
}

// TestFix31DepartedNonKey — a departed author's concurrent NON-key membership event. Admin
// m renames the group (R: CHAT_NAME_CHANGED, no key block) while its account departs
// concurrently (D: "removal", m's other installation m2 steps down and admin a removes m —
// an admin cannot be removed, so the step-down comes first; "leave", m2 leaves); neither
// saw the other. Rule C1 keeps R overridden wherever both are merged (an
// admin action concurrent with its author's removal or leave): stored and sent, since later
// events may name it, never applied. A member that met D first dropped R's publish unopened
// (ErrNotMember: its author no member) — only a membership KEY event's was opened and
// merged (fix 25, mayBeOverridden) — so R was never stored there, and a later event naming
// R as parent (the rename by b, which met R first) waited there for good: heads differ,
// the later rename never applies.
// Modes: depart × c's order. b (admin) meets R then D; c meets D then R ("c-depart-first")
// or R then D ("c-rename-first"); a meets D first (its own removal, or handed D then R).
// Asserted: after settling, a, b and c keep the group's first name (R overridden
// everywhere), the same membership heads; a member that met D first stores no message of
// R's publish (its event is merged, its message not stored); b's later rename applies at a
// and c; messages are read both ways.
// Measured (main af1df7a, 3 of 3 runs): all 4 subtests fail — heads a 1, b 2, c 1 (or 2
// when c met R first), a never applies b's later rename (1 pending event). After (fix31:
// mayBeOverridden opens a publish without a key block, overriddenUpdate takes only events
// kept overridden, mergeOverridden stores them, not the message): 4 of 4 pass, 3 runs and
// once with -race; heads 2 at a, b and c.
func TestFix31DepartedNonKey(t *testing.T) {
	for _, depart := range []string{"removal", "leave"} {
		for _, order := range []string{"c-depart-first", "c-rename-first"} {
			t.Run(depart+"/"+order, func(t *testing.T) {
				seed := int64(3101)
				if depart == "leave" {
					seed = 3111
				}
				tn, a, b, m, m2, c, g := fix31Scene(t, seed)
				envD, envRs := departSplit(t, tn, a, b, m, m2, c, g, depart, "m's name")
				envR := envRs[0]
				protocol.ReceiveLiveForTest(b.c, append(slices.Clone(envR), envD...))
				xs := []*peer{a} // the members that meet D first
				if depart == "leave" {
					protocol.ReceiveLiveForTest(a.c, slices.Clone(envD))
				}
				if order == "c-depart-first" {
					xs = append(xs, c)
					protocol.ReceiveLiveForTest(c.c, slices.Clone(envD))
				} else {
					protocol.ReceiveLiveForTest(c.c, append(slices.Clone(envR), envD...))
				}
				before := map[*peer]int{}
				for _, x := range xs {
					before[x] = fromCount(t, x, g, m.id)
					protocol.ReceiveLiveForTest(x.c, slices.Clone(envR))
					if n := fromCount(t, x, g, m.id); n != before[x] {
						t.Errorf("%s stores %d messages of m's after R's publish, %d before: a departed author's publish is merged, its message not stored", x.name, n, before[x])
					}
				}
				online(tn, a, b, c)
				departedRenamesChecked(t, tn, a, b, c, g, "R", "R stored where it was met first only")
			})
		}
	}
}

// TestFix31DepartedNonKeyRefused — what the merge of TestFix31DepartedNonKey must not let
// in. A removed account's installations still hold the group's old epoch and can seal
// publishes under it: (1) a rename m2 signs AFTER the removal (naming the removal as
// parent: the rules discard it, its author no member of its past), and (2) m's concurrent
// rename R (the rules keep it overridden) while m's installation is revoked at c, stay
// refused: c's state is byte-identical (StateDigest) after each, and it stores no message
// of m's account's (a refused envelope is marked seen: it is refused for good). (3) The
// control: R at b, which met the removal first and does not hold m revoked, is merged (b's
// heads change), its message not stored.
// Measured: (1) and (2) pass on main af1df7a and after fix31; (3) fails on main (b's heads
// 1 -> 1: dropped unopened) and with fix31's gate reverted, passes after (1 -> 2).
func TestFix31DepartedNonKeyRefused(t *testing.T) {
	ctx := context.Background()
	tn, a, b, m, m2, c, g := fix31Scene(t, 3121)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	m.pause()
	m2.pause()
	tn.net.SetOffline(b.name, true)
	tn.net.SetOffline(c.name, true)
	start := time.Now().Add(-time.Millisecond)
	fix31StepDownRemove(t, tn, a, m, m2, g)
	time.Sleep(20 * time.Millisecond)
	tn.net.SetOffline(a.name, true)
	removal := protocol.HeadsForTest(a.c, g)
	mid := time.Now()
	// (1) m2 signs a rename naming the removal as parent, with a later clock, and sends it
	// unchecked (it never applied the removal: still a member in its view).
	ev, err := membership.SignEvent(protocol.AccountKeyForTest(m2.c), info.ChatID, membership.Event{Type: membership.NameChanged,
		Name: "after removal", Clock: uint64(time.Now().UnixMilli()), Parents: removal})
	must(t, err)
	update, err := (&membership.Message{ChatID: info.ChatID, Events: []membership.Event{ev}}).MarshalBinary()
	must(t, err)
	must(t, protocol.SendMembershipForTest(m2.c, g, update))
	time.Sleep(20 * time.Millisecond)
	mid2 := time.Now()
	// (2) m's concurrent rename R (m saw neither the step-down nor the removal).
	must(t, m.c.SetName(ctx, g, "m's name"))
	time.Sleep(20 * time.Millisecond)
	rd := tn.net.Join("reader")
	envD, err := rd.History(ctx, []string{topic}, start, mid)
	must(t, err)
	envAfter, err := rd.History(ctx, []string{topic}, mid, mid2)
	must(t, err)
	envR, err := rd.History(ctx, []string{topic}, mid2, time.Time{})
	must(t, err)
	if len(envD) == 0 || len(envAfter) != 1 || len(envR) != 1 {
		t.Fatalf("setup: %d, %d, %d envelopes, want some, 1, 1", len(envD), len(envAfter), len(envR))
	}
	protocol.ReceiveLiveForTest(c.c, slices.Clone(envD))
	tn.waitFor("c applied the removal", func() bool {
		info, err := c.c.Group(ctx, g)
		return err == nil && !slices.Contains(info.Members, m.id)
	})
	must(t, protocol.SetRevokedForTest(c.c, m.c, true, false))
	for _, step := range []struct {
		what string
		envs []transport.Envelope
	}{{"m2's rename after the removal", envAfter}, {"R of m's installation, revoked", envR}} {
		d0, n0 := protocol.StateDigest(c.c), fromCount(t, c, g, m.id)
		protocol.ReceiveLiveForTest(c.c, slices.Clone(step.envs))
		if d1, n1 := protocol.StateDigest(c.c), fromCount(t, c, g, m.id); d1 != d0 || n1 != n0 {
			t.Errorf("%s: c's state changed (digest same %v, messages of m's %d -> %d): it must stay refused", step.what, d1 == d0, n0, n1)
		}
	}
	// (3) the control: b, which meets D then R (m not revoked there), merges R.
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envD))
	tn.waitFor("b applied the removal", func() bool {
		info, err := b.c.Group(ctx, g)
		return err == nil && !slices.Contains(info.Members, m.id)
	})
	h0, n0 := protocol.HeadsForTest(b.c, g), fromCount(t, b, g, m.id)
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envR))
	h1, n1 := protocol.HeadsForTest(b.c, g), fromCount(t, b, g, m.id)
	t.Logf("b's heads %d -> %d", len(h0), len(h1))
	if slices.Equal(h0, h1) {
		t.Errorf("R of m's installation, not revoked: not merged at b (heads unchanged): rule C1 keeps it, stored")
	}
	if n1 != n0 {
		t.Errorf("R merged at b: %d messages of m's, %d before: its message must not be stored", n1, n0)
	}
	info, err = c.c.Group(ctx, g)
	must(t, err)
	if info.Name != "f25" {
		t.Errorf("c: name %q, want %q", info.Name, "f25")
	}
}
