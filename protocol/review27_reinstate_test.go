package protocol_test

import (
	"context"
	"testing"

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
// Suggested root fix: at the rules level (spec "Chorus causal rules", C2): a promotion C1
// overrides (its author departed concurrently) does not override a removal by C2 (as C1
// already ignores removals C2 overrides) — an overridden author's past can be arbitrarily
// old, so its promotion is concurrent with every later removal. An engine-only gate (take a
// departed author's merge only if the applied state is unchanged) would stop the attack but
// split members that met such a promotion before the departure (C2 applies there) from
// those that met it after.
// Fixed (fix37, rules level): rule 3's applied events are the grounded set of the threats
// C1-C3, so P, defeated by D_m and m's step-down, threatens nothing; D_c applies (passes).
func TestReview27DepartedPromotionReinstates(t *testing.T) {
	removedAdminAct{
		seed: 2721,
		cGone: func(ctx context.Context, tn *testNet, a, b, c, m2 *peer, g protocol.GroupID) error {
			err := a.c.RemoveMembers(ctx, g, c.id) // D_c
			tn.settle(a, b, c, m2)
			return err
		},
		// P: m, unaware of both removals, promotes c.
		act:   func(ctx context.Context, m, c *peer, g protocol.GroupID) error { return m.c.AddAdmins(ctx, g, c.id) },
		label: "P",
		cBack: "c, removed by a, is a member again after removed m's promotion P (rule C2 counts P, kept overridden): a removed admin reinstates a removed member",
		cWho:  "removed",
	}.run(t)
}

// TestReview27DepartedRemovalUndoesLeave — the key-event branch of the same gate (fix 25's
// mayBeOverridden with a key block; fix 32's refuseOverridden keeps its seed): a REMOVED
// admin's removal of a member who LEFT, merged as kept overridden, overrides the leave by
// rule C1 ("C1 uses every removal that C2 does not override, even one C1 overrides
// itself"), and the member who left is a member again. Scene: fix31Scene; m paused (it
// never learns what follows). c (no admin) leaves (L); m2 steps down for m's account and a
// removes m (D_m). Then m removes c (X: a membership key event, MEMBER_REMOVED of c by m,
// valid in the past m holds, concurrent with L and with D_m): rule C1 keeps X overridden
// (D_m), so the gate takes it — and, X being a removal of L's author concurrent with L, C1
// overrides L too.
// Asserted: after X's publish reaches a and b, c is no member there and their members did
// not change; c does not read a's next text.
// Measured (review27 = main 53b8fd8 + fix35): fails 3 of 3 (c a member again at a and b,
// members 2 -> 3, and c reads a's next text). It fails the same with this session's fixes'
// code reverted (protocol files of e2332e1): not fix 30-35's — the key-event gate since fix
// 25 — and at the rules level it is the spec's stated choice for honest concurrency (C1,
// "a member whose remover was concurrently removed keeps its membership but loses its
// events concurrent with that removal"), which a removed admin can invoke at will by
// naming an old past. Suggested root fix: as TestReview27DepartedPromotionReinstates —
// rules-level (an event C1 overrides because its author departed concurrently is not
// counted by C1 or C2 against others), since an engine gate refusing merges that change the
// applied state would split members that met the event before the departure from those
// that met it after.
// Fixed (fix37, rules level): X, defeated by D_m and m's step-down, threatens nothing; L
// applies (passes).
func TestReview27DepartedRemovalUndoesLeave(t *testing.T) {
	removedAdminAct{
		seed: 2741,
		cGone: func(ctx context.Context, tn *testNet, a, b, c, m2 *peer, g protocol.GroupID) error {
			err := c.c.Leave(ctx, g) // L
			tn.settle(a, b, m2)
			return err
		},
		// X: m, unaware of L and of its own removal, removes c.
		act: func(ctx context.Context, m, c *peer, g protocol.GroupID) error {
			return m.c.RemoveMembers(ctx, g, c.id)
		},
		label: "X",
		cBack: "c, who left, is a member again after removed m's removal of c (rule C1 overrides c's leave, concurrent with a removal of c C1 itself overrides): a removed admin undoes a leave",
		cWho:  "which left",
	}.run(t)
}
