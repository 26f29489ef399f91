package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview29LeaveTwinRejoins — the protocol face of membership's
// TestReview29NamedLeaveTwinsUndoLeave. Scene: a (creator) with b, c, x; x leaves (L1,
// Leave), everyone applies it; a renames (names L1). x's account key then signs L2, a
// second leave with the heads x held before L1 (concurrent with L1, another clock); c, a
// member with no admin right, sends in one membership message L2 and J, a rename by c
// naming L2 (invalid: c is no admin; discarded — it names L2 anyway). Nobody adds x.
// Asserted: x is no member at a, b and c once c's message is applied, and x does not read
// a text a sends after it. Control subtest: c sends L2 alone (unnamed: held) — passes.
// Result: "named-by-junk" fails 3 of 3 runs: x a member again at a and b (4 members; c,
// which never applies its own SendMembershipForTest message, has 3: a split); x did not
// read the text within 3 s in those runs (it forgot the group's keys when it left; what a
// later heal to the 4 members gives it is not checked). "control-unnamed" passes 3 of 3:
// the cause is the naming (a discarded event naming L2, then both leaves kept and
// overridden by C1's 2-cycle), not the merge of a departed author's event.
// Suggested root fix: membership rules (see the membership test): named leave twins must
// not cancel each other under C1, and a discarded event must not name.
func TestReview29LeaveTwinRejoins(t *testing.T) {
	for _, named := range []bool{false, true} {
		t.Run(map[bool]string{false: "control-unnamed", true: "named-by-junk"}[named], func(t *testing.T) { review29LeaveTwin(t, named) })
	}
}

func review29LeaveTwin(t *testing.T, named bool) {
	tn := newTestNet(t, memory.Config{Seed: 2901}, 0)
	a, b, c, x := tn.add("a"), tn.add("b"), tn.add("c"), tn.add("x")
	tn.connect(a, b, c, x)
	ctx := context.Background()
	g := joinedGroup(t, tn, "r29leave", a, b, c, x)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	h0 := protocol.HeadsForTest(x.c, g)
	must(t, x.c.Leave(ctx, g)) // L1
	tn.settle()
	tn.waitFor("x gone at a, b, c", func() bool {
		for _, p := range []*peer{a, b, c} {
			info, err := p.c.Group(ctx, g)
			if err != nil || slices.Contains(info.Members, x.id) {
				return false
			}
		}
		return true
	})
	must(t, a.c.SetName(ctx, g, "after x")) // names L1
	tn.settle()
	tn.waitFor("rename at b, c", func() bool {
		for _, p := range []*peer{b, c} {
			info, err := p.c.Group(ctx, g)
			if err != nil || info.Name != "after x" {
				return false
			}
		}
		return true
	})
	l2, err := membership.SignEvent(protocol.AccountKeyForTest(x.c), info.ChatID, membership.Event{Type: membership.MemberRemoved,
		Members: membership.MembersOf(x.id), Clock: uint64(time.Now().UnixMilli()), Parents: slices.Clone(h0)})
	must(t, err)
	j, err := membership.SignEvent(protocol.AccountKeyForTest(c.c), info.ChatID, membership.Event{Type: membership.NameChanged,
		Name: "c's junk", Clock: uint64(time.Now().UnixMilli()) + 1, Parents: []membership.EventID{l2.ID()}})
	must(t, err)
	evs := []membership.Event{l2, j}
	if !named {
		evs = evs[:1] // control: L2 alone, held (pending): x stays out
	}
	update, err := (&membership.Message{ChatID: info.ChatID, Events: evs}).MarshalBinary()
	must(t, err)
	must(t, protocol.SendMembershipForTest(c.c, g, update))
	time.Sleep(200 * time.Millisecond)
	tn.settle()
	time.Sleep(500 * time.Millisecond)
	tn.settle()
	for _, p := range []*peer{a, b, c} {
		info, err := p.c.Group(ctx, g)
		must(t, err)
		in := slices.Contains(info.Members, x.id)
		t.Logf("%s: x a member %v, name %q, members %d", p.name, in, info.Name, len(info.Members))
		if in {
			t.Errorf("%s: x, who left and was never re-added, is a member again after c's message (x's twin leave, c's junk rename naming it)", p.name)
		}
	}
	mustSend(t, a, g, "after the twin")
	if readWithin(tn, x, g, "after the twin", 3*time.Second) {
		t.Errorf("x, who left, read a's text sent after the twin")
	}
}
