package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
)

// TestReview26DepartedSendsWelcome (review 26, attacker probe) — a member that has left (m,
// holding the group secret, its log and the seeds of the epochs it was in) sends a member
// b a member's Welcome by hand (SendWelcomeV2ForTest: "what an installation, removed or
// not, can send pairwise") carrying its log and a join of its own last frontier (the
// epoch of its committed add M, before its leave). Since fix29 a Welcome's log is a path
// by which a departed author's committed key event is taken (departedAfter).
//
// Scene: review20Scene; m adds c (M), everyone applies it; m leaves (L); a's send heals;
// everyone settles. Then m sends b the Welcome. Asserted: b's schedule and meta bytes are
// unchanged by it, b holds nothing on m's word, and b still reads a's text and a b's.
//
// Measured (review26 = main af1df7a): a PASSING regression test (the door stays shut): the
// Welcome is sent (1 inbox envelope; m has no later join: "not a member"), b's schedule
// and meta bytes are unchanged, nothing held on m's word, epoch unchanged, texts both ways.
func TestReview26DepartedSendsWelcome(t *testing.T) {
	tn, a, b, m, c, g := review20Scene(t, 2641)
	ctx := context.Background()
	must(t, m.c.AddMembers(ctx, g, c.id)) // M
	tn.settle()
	waitSameEpoch(tn, g, a, b, m, c)
	join, err := protocol.FrontierJoinForTest(m.c, g) // m's join of {M}, taken before it leaves
	must(t, err)
	must(t, m.c.Leave(ctx, g))
	tn.settle()
	tn.waitFor("m no member at a, b", func() bool {
		for _, p := range []*peer{a, b} {
			i, err := p.c.Group(ctx, g)
			if err != nil || slices.Contains(i.Members, m.id) {
				return false
			}
		}
		return true
	})
	mustSend(t, a, g, "from a")
	tn.settle()
	waitSameEpoch(tn, g, a, b, c)
	sched, meta, err := protocol.KeysForTest(b.c, g)
	must(t, err)
	_, _, e0 := protocol.EpochInfo(b.c, g)
	start := time.Now().Add(-time.Millisecond)
	for _, j := range []bool{false, true} {
		jn := join
		if j { // its later frontier's join too (its own leave's epoch, if it has one)
			if jn, err = protocol.FrontierJoinForTest(m.c, g); err != nil {
				t.Logf("no later join of m's: %v", err)
				continue
			}
		}
		err := protocol.SendWelcomeV2ForTest(m.c, installationOf(t, b), g, jn)
		t.Logf("m's Welcome (later frontier %v) sent: %v", j, err)
	}
	inbox, err := tn.net.Join("reader").History(ctx, []string{topics.InboxTopic(accountPubOf(t, b.id))}, start, time.Time{})
	must(t, err)
	protocol.ReceiveLiveForTest(b.c, slices.Clone(inbox))
	tn.settle()
	sched2, meta2, err := protocol.KeysForTest(b.c, g)
	must(t, err)
	byM, all, unseen := protocol.HeldForTest(b.c, g, m.id)
	_, _, e1 := protocol.EpochInfo(b.c, g)
	t.Logf("%d inbox envelopes; b's schedule changed %v, meta changed %v; held on m's word %d (all %d, unseen %d); epoch changed %v",
		len(inbox), !bytes.Equal(sched, sched2), !bytes.Equal(meta, meta2), byM, all, unseen, e0 != e1)
	if !bytes.Equal(sched, sched2) || !bytes.Equal(meta, meta2) {
		t.Errorf("a departed member's Welcome changed b's key schedule or meta")
	}
	if byM > 0 {
		t.Errorf("b holds %d ids on the departed m's word", byM)
	}
	mustSend(t, a, g, "from a again")
	mustSend(t, b, g, "from b")
	tn.settle()
	if !readWithin(tn, b, g, "from a again", 5*time.Second) || !readWithin(tn, a, g, "from b", 5*time.Second) {
		t.Errorf("a and b no longer read each other after m's Welcome")
	}
}
