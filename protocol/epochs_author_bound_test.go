package protocol_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// madeUpIDs returns a source of distinct made-up key event ids (tag keeps two sources apart).
func madeUpIDs(tag string) func() epoch.ID {
	n := 0
	return func() epoch.ID {
		n++
		return epoch.ID(sha256.Sum256([]byte(fmt.Sprint(tag, " ", n))))
	}
}

// madeUpRekey returns a join entry for a rekey by inst of group g that was never published,
// with prev: its id commits to prev (epoch.RekeyID) and the entry carries its author and
// nonce, so that it passes the recipient's id check (a member's Welcome may still make up
// rekeys: spec › Known limits). The nonce is drawn from tag; first: the id starts with a
// zero byte (applied before the join's other entries, which go in id order), else not.
func madeUpRekey(g protocol.GroupID, inst protocol.InstallationID, prev epoch.Frontier, tag string, first bool) epoch.JoinEntry {
	o := epoch.RekeyOrigin{Author: epoch.Installation(inst)}
	for k := 0; ; k++ {
		n := sha256.Sum256([]byte(fmt.Sprint(tag, " nonce ", k)))
		copy(o.Nonce[:], n[:])
		id := epoch.RekeyID(epoch.ID(g), o.Author, o.Nonce, prev)
		if (id[0] == 0) == first {
			return epoch.JoinEntry{Event: id, Prev: prev, Kind: epoch.SlotSeed, Rekey: &o}
		}
	}
}

func sortIDs(ids []epoch.ID) {
	slices.SortFunc(ids, func(x, y epoch.ID) int { return bytes.Compare(x[:], y[:]) })
}

// TestSecUnseenPerAuthor (issue 13 security, spec › Known limits, "Known key event ids are
// never forgotten" (a)): the bound on unseen prev ids was per group. A member d filled it
// with rekeys naming made-up prev ids (legal up to the bound); an honest member c's next key
// event naming ids that never reached the victim (here made up by c's test hook, as a
// publish lost from the store would be) then waited at every member for good, and so did
// every key event naming it later: the members fell out of step with c. Unseen ids now
// count against the author of the first applied event naming them (per account,
// epoch.MaxUnseenPerAuthor): d's rekeys stop at its own budget, which survives a restart,
// and c's rekey applies; the removal of d still applies everywhere.
func TestSecUnseenPerAuthor(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 161}, 0)
	a, b, c, d := tn.add("a"), tn.addPersistent("b"), tn.add("c"), tn.add("d")
	tn.connect(a, b, c, d)
	g, err := a.c.CreateGroup(ctx, "per-author", "", b.id, c.id, d.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, d)
	before := protocol.KnownKeyEventsForTest(b.c, g)
	madeUp := madeUpIDs("made up by d")
	protocol.SetRekeyPrevHookForTest(d.c, func(prev epoch.Frontier) epoch.Frontier {
		for len(prev) < epoch.MaxFrontier {
			prev = append(prev, madeUp())
		}
		sortIDs(prev)
		return prev
	})
	// 40 publishes of 31 made-up ids: past the old group-wide bound (1024) and d's budget.
	rekeys := func(n int) {
		for range n {
			must(t, d.c.Rekey(ctx, g))
			tn.settle()
		}
	}
	rekeys(40)
	bound := before + epoch.MaxUnseenPerAuthor + epoch.MaxUnseenPerAuthor/(epoch.MaxFrontier-1) + 2
	t.Logf("b: %d known key event ids after d's 40 rekeys (%d before)", protocol.KnownKeyEventsForTest(b.c, g), before)
	if got := protocol.KnownKeyEventsForTest(b.c, g); got > bound {
		t.Errorf("b remembers %d key event ids after d's 40 rekeys naming made-up ids (%d before, bound %d)", got, before, bound)
	}
	// The attribution is part of the stored schedule: after a restart d's budget is still
	// spent, and its further rekeys add nothing.
	b.restart()
	tn.settle()
	held := protocol.KnownKeyEventsForTest(b.c, g)
	rekeys(3)
	if got := protocol.KnownKeyEventsForTest(b.c, g); got > held+3 {
		t.Errorf("b remembers %d key event ids after a restart and 3 more rekeys of d naming made-up ids, %d before: d's budget was forgotten", got, held)
	}
	protocol.SetRekeyPrevHookForTest(d.c, nil)

	// c's rekey names 4 ids b never sees (4 publishes lost from the store): past what d
	// left of a group-wide bound, well within c's own budget.
	lost := madeUpIDs("c's lost publish")
	protocol.SetRekeyPrevHookForTest(c.c, func(prev epoch.Frontier) epoch.Frontier {
		for range 4 {
			prev = append(prev, lost())
		}
		sortIDs(prev)
		return prev
	})
	must(t, c.c.Rekey(ctx, g))
	protocol.SetRekeyPrevHookForTest(c.c, nil)
	_, fc, _ := protocol.EpochInfo(c.c, g)
	if len(fc) != 1 {
		t.Fatalf("c's frontier after its rekey: %d events, want 1", len(fc))
	}
	tn.settle()
	for _, p := range []*peer{a, b} {
		if !protocol.AppliedKeyEventForTest(p.c, g, fc[0]) {
			t.Errorf("%s did not apply c's rekey naming ids it never saw, after d spent its own budget: c's key events wait for d's", p.name)
		}
	}
	must(t, a.c.RemoveMembers(ctx, g, d.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b, c)
	mustSend(t, a, g, "after d's removal")
	waitTexts(t, tn, g, []string{"after d's removal"}, b, c)
}

// TestSecWelcomeEntriesPerSender (issue 13 security, spec › Known limits, "Known key event
// ids are never forgotten" (c)): a member's Welcome to a member (mergeJoin) applied its up
// to 31 join entries, made up or not, as applied key events: about 2 100 such pairwise
// Welcomes (costing the group nothing) filled MaxKnownEvents and froze the victim's key
// schedule, its sender's removal included. The entries never seen in a key block now count
// against their sender's account (epoch.MaxUnseenPerAuthor); past it the Welcome waits.
// Here x sends 45 Welcomes of 31 made-up entries (1 395 ids, past the budget): b keeps at
// most the budget's worth and a Welcome of another member still merges. (b is cut off by
// the made-up entries it merged, spec › Known limits: it no longer opens the group's
// publishes, so the removal of x is checked on the schedule: epoch.TestWelcomedPerSender.)
func TestSecWelcomeEntriesPerSender(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 171}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "welcome-entries", "", b.id, x.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, x)
	before := protocol.KnownKeyEventsForTest(b.c, g)
	// Each join supersedes the frontier b holds (its first entry names it; the others
	// name nothing), so that it fits: 31 made-up entries a Welcome, no unseen prev id.
	// The entries are rekeys of x's installation whose ids commit to their prev.
	xi := installationOf(t, x)
	var front []epoch.ID
	_, front, _ = protocol.EpochInfo(b.c, g)
	const welcomes = 45
	for w := range welcomes {
		var j epoch.Join
		for i := range epoch.MaxFrontier - 1 {
			var prev epoch.Frontier
			if i == 0 {
				prev = slices.Clone(front)
			}
			e := madeUpRekey(g, xi, prev, fmt.Sprint("entry made up by x ", w, " ", i), i == 0)
			e.Value[0] = byte(i + 1)
			j = append(j, e)
		}
		slices.SortFunc(j, func(x, y epoch.JoinEntry) int { return bytes.Compare(x.Event[:], y.Event[:]) })
		front = front[:0]
		for _, e := range j {
			front = append(front, e.Event)
		}
		sortIDs(front)
		must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, j))
		tn.settle(b)
	}
	tn.settle()
	bound := before + epoch.MaxUnseenPerAuthor + epoch.MaxFrontier
	got := protocol.KnownKeyEventsForTest(b.c, g)
	t.Logf("b: %d known key event ids after %d Welcomes of %d made-up entries (bound %d)", got, welcomes, welcomes*(epoch.MaxFrontier-1), bound)
	if got > bound || got < 0 {
		t.Errorf("b remembers %d key event ids after %d member Welcomes of made-up entries (%d before, bound %d): a member's Welcome entries are not bounded per sender",
			got, welcomes, before, bound)
	}
	if held := protocol.HeldKeyEventsForTest(b.c, g); held > epoch.MaxUnseenPerAuthor {
		t.Errorf("b holds %d ids on a member's word, more than its budget", held)
	}
	// Another member's Welcome still merges (its entries count against a, not x).
	_, fb, _ := protocol.EpochInfo(b.c, g)
	honest := madeUpRekey(g, installationOf(t, a), fb, "a's entry", false)
	honest.Value[0] = 1
	must(t, protocol.SendWelcomeV2ForTest(a.c, installationOf(t, b), g, epoch.Join{honest}))
	tn.settle()
	if !protocol.AppliedKeyEventForTest(b.c, g, honest.Event) {
		t.Errorf("b did not merge a's Welcome after x spent its budget: x's Welcomes block another member's")
	}
}
