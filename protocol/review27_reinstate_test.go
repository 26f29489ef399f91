package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestReview27DepartedPromotionReinstates — a REMOVED admin's promotion, merged as kept
// overridden (fix 31's overriddenUpdate), overrides a later removal by rule C2 and so
// reinstates a removed member. Scene: fix31Scene (a creator, b and m admins, m's account on
// m and m2, c a member). m is paused (it never learns what follows: what a removed
// installation can build from the state it kept). a removes c (D_c); m2 steps down for
// m's account and a removes m (D_m: fix31StepDownRemove); a and b settle without m and c.
// Then m promotes c (P: ADMINS_ADDED naming c, its causal past the one m holds, where m is
// an admin and c a member): P is valid against its past and concurrent with D_m (rule C1:
// kept overridden, so overriddenUpdate takes it and mergeOverridden stores the merge) — but
// rule C2 counts every kept ADMINS_ADDED naming the target, overridden or not, and P is
// concurrent with D_c too, so D_c is overridden in the merged state: c is a member again at
// every member that merges P. overriddenUpdate checks only that P itself is kept
// overridden, not what its merge does to the other events. Before fix 31 a departed author's
// non-key publish was dropped unopened where the departure was known.
// Asserted: after P's publish reaches a and b, c is no member there (D_c still applies), and
// neither a nor b changes its members. Also checked: whether c, removed, reads a text a
// sends afterwards.
// Measured (review27 = main 53b8fd8 + fix35): fails 3 of 3 runs — at a and b c is a member
// again (members 2 -> 3, heads 1 -> 2) and c reads a's next text (a's send welcomes it back).
// With fix 31's gate reverted (mayBeOverridden without kb == nil) it passes (heads 1, c no
// member): the door is fix 31's. The removed installation needs only its account key and
// an epoch the members still open (its old one while among their kept seeds — or one it
// renews for good, TestReview27DepartedChainOutlivesWindow).
// Suggested root fix: the one gate of a departed author's publish (overriddenUpdate, and the
// key-event branch of openGroupMessageV2 alike) takes a merge only if it changes nothing the
// base state applies — the same applied events, members and admins; only Overridden (or
// Pending) grows — else ErrNotMember; and, at the rules level (spec "Chorus causal rules",
// C2), weigh whether a promotion C1 overrides should still override a removal by C2 (as C1
// already ignores removals C2 overrides): an overridden author's past can be arbitrarily
// old, so its promotion is concurrent with every later removal.
func TestReview27DepartedPromotionReinstates(t *testing.T) {
	ctx := context.Background()
	tn, a, b, m, m2, c, g := fix31Scene(t, 2721)
	m.pause()
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	tn.settle(a, b, c, m2)
	tn.waitFor("c removed at a and b", func() bool {
		for _, p := range []*peer{a, b} {
			info, err := p.c.Group(ctx, g)
			if err != nil || slices.Contains(info.Members, c.id) {
				return false
			}
		}
		return true
	})
	fix31StepDownRemove(t, tn, a, m, m2, g)
	tn.settle(a, b)
	tn.waitFor("m removed at a and b", func() bool {
		for _, p := range []*peer{a, b} {
			info, err := p.c.Group(ctx, g)
			if err != nil || slices.Contains(info.Members, m.id) {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, a, b)
	before := map[string][]string{}
	for _, p := range []*peer{a, b} {
		info, err := p.c.Group(ctx, g)
		must(t, err)
		before[p.name] = slices.Clone(info.Members)
	}
	// P: m, unaware of both removals, promotes c.
	must(t, m.c.AddAdmins(ctx, g, c.id))
	time.Sleep(50 * time.Millisecond)
	tn.settle(a, b)
	time.Sleep(200 * time.Millisecond)
	tn.settle(a, b)
	for _, p := range []*peer{a, b} {
		info, err := p.c.Group(ctx, g)
		must(t, err)
		h := protocol.HeadsForTest(p.c, g)
		t.Logf("%s: heads %d, members %d (before %d), c a member %v, c an admin %v", p.name, len(h), len(info.Members), len(before[p.name]), slices.Contains(info.Members, c.id), slices.Contains(info.Admins, c.id))
		if slices.Contains(info.Members, c.id) {
			t.Errorf("%s: c, removed by a, is a member again after removed m's promotion P (rule C2 counts P, kept overridden): a removed admin reinstates a removed member", p.name)
		}
		if !slices.Equal(info.Members, before[p.name]) {
			t.Errorf("%s: members changed by a removed installation's publish: %v -> %v", p.name, before[p.name], info.Members)
		}
	}
	mustSend(t, a, g, "after P")
	tn.settle(a, b, c)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && c.texts(g)["after P"] == 0 {
		tn.settle(c)
		time.Sleep(100 * time.Millisecond)
	}
	if c.texts(g)["after P"] > 0 {
		t.Errorf("c, removed, reads a's text sent after P")
	}
}
