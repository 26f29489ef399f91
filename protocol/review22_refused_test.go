package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestReview22RefusedHeldOnHealerWord — fix20 (50aba88) heals a refused uncommitted
// membership key event M by naming it as prev in the heal (keyEventPrev). Every member that
// refused M does not know M in its schedule (epochMeta.Refused is bookkeeping beside it, M
// is not recorded as Refuse'd), so the heal's ApplyKnown holds M on the healer's account's
// word (epoch.applyHeld), and M is never applied — the hold is never released. Each
// uncommitted add or removal of an admin on a version before cycle12 thus spends, for
// good, one of the MaxUnseenPerAuthor (512) ids the group may hold on the designated
// healer's account at every member that refused it, and one of the group's MaxUnseenPrev
// (16,384: Unseen grows at every member, the healer too). An admin needs no malice for
// this: an old client adding and removing members over the group's life. (spec "Frontier",
// review 20: the recorded ids are "at a receiver that never met the event ... an unseen id
// held by the key event's author" — at one that met and refused it, they are too.) Run to 512
// (a variant, 254 s, not kept: 512 refused events): the 513th heal of b is refused at a
// (ErrUnknownPrev, held) until a's own heal names the event one grace later — every
// further refused event then costs two heals, and any key event of b's account naming an
// id a has not seen waits at a until a meets it; a, b, m did converge (one two-event
// frontier). At 16,384 every member
// refuses every key event naming an unseen id.
//
// Scene: review20Scene (a, b, m admins; c outside); m's membership key events carry no
// field 103 (SetMemberUncommittedForTest, "uncommitted"; control "committed": m current);
// m adds c then removes c, 3 times, each event settled and healed (no refused event open
// at a or b, a, b, m on one epoch). Asserted: a and b hold no more ids on anyone's word
// than before the cycles (the refused ids are theirs: they refused them).
// Measured (main f7376e8): "uncommitted" fails — the member that did not heal holds 6 ids
// (one per refused event) on the healer's word, Unseen +6 at both, 3 of 3 runs;
// "committed" passes (+0), 3 of 3. Fixed by fix23 (refuseNamed): 0 held at a and b.
func TestReview22RefusedHeldOnHealerWord(t *testing.T) {
	for _, mode := range []string{"uncommitted", "committed"} {
		t.Run(mode, func(t *testing.T) {
			tn, a, b, m, c, g := review20Scene(t, 2201)
			ctx := context.Background()
			_, baseA, _ := protocol.HeldForTest(a.c, g, m.id)
			_, baseB, _ := protocol.HeldForTest(b.c, g, m.id)
			if mode == "uncommitted" {
				protocol.SetMemberUncommittedForTest(m.c, true)
			}
			healed := func(what string, want bool) {
				t.Helper()
				tn.settle()
				tn.waitFor(what, func() bool {
					for _, p := range []*peer{a, b} {
						info, err := p.c.Group(ctx, g)
						if err != nil || slices.Contains(info.Members, c.id) != want {
							return false
						}
						if _, open := protocol.RefusedForTest(p.c, g); open != 0 {
							return false
						}
					}
					return true
				})
				waitSameEpoch(tn, g, a, b, m)
			}
			const cycles = 3
			for i := 0; i < cycles; i++ {
				must(t, m.c.AddMembers(ctx, g, c.id))
				healed(fmt.Sprintf("add %d applied and healed", i), true)
				must(t, m.c.RemoveMembers(ctx, g, c.id))
				healed(fmt.Sprintf("removal %d applied and healed", i), false)
			}
			for _, p := range []*peer{a, b} {
				onA, all, unseen := protocol.HeldForTest(p.c, g, a.id)
				onB, _, _ := protocol.HeldForTest(p.c, g, b.id)
				listed, _ := protocol.RefusedForTest(p.c, g)
				base := baseA
				if p == b {
					base = baseB
				}
				t.Logf("%s: held on a's word %d, on b's %d, all %d (before %d), unseen %d, refused listed %d",
					p.name, onA, onB, all, base, unseen, listed)
				if all > base {
					t.Errorf("%s holds %d more ids on a member's word after %d refused events healed (before: %d): each spends the healer's budget (512) for good",
						p.name, all-base, 2*cycles, base)
				}
			}
			mustSend(t, b, g, "after")
			waitTexts(t, tn, g, []string{"after"}, a, m)
		})
	}
}
