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

// TestSecRekeyUnknownPrev (issue 13 security, review 3: "Known key event ids are never
// forgotten"): a member authoring signed rekeys whose prev names ids nobody has seen made
// every member remember those ids (up to 32 a publish, MaxKnownEvents = 65 536 in all):
// about 2 000 publishes froze the group's key schedule (ErrTooManyEvents), so a later
// removal could not rekey and the removed member read on. Here the attacker publishes 60
// such rekeys (not 2 000: what is checked is that the set stops growing), then an admin
// removes another member: every other member remembers at most epoch.MaxUnseenPerAuthor
// made-up ids (the attacker's budget) and the attacker's rekeys applied before that (a bound that does not grow
// with its publishes), the removal rekeys, and the removed member reads nothing sent after
// it.
func TestSecRekeyUnknownPrev(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 131}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, d)
	g, err := a.c.CreateGroup(ctx, "known", "", b.id, c.id, d.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, d)
	honest := []*peer{a, b, c}
	before := map[string]int{}
	for _, p := range honest {
		before[p.name] = protocol.KnownKeyEventsForTest(p.c, g)
	}
	n := 0
	protocol.SetRekeyPrevHookForTest(d.c, func(prev epoch.Frontier) epoch.Frontier {
		for len(prev) < epoch.MaxFrontier {
			n++
			prev = append(prev, epoch.ID(sha256.Sum256([]byte(fmt.Sprint("made up ", n)))))
		}
		slices.SortFunc(prev, func(x, y epoch.ID) int { return bytes.Compare(x[:], y[:]) })
		return prev
	})
	const publishes = 60
	for range publishes {
		must(t, d.c.Rekey(ctx, g))
		tn.settle()
	}
	protocol.SetRekeyPrevHookForTest(d.c, nil)
	tn.settle(a, b, c)
	for _, p := range honest {
		// The made-up ids up to the bound, and the attacker's rekeys applied until then.
		bound := before[p.name] + epoch.MaxUnseenPerAuthor + epoch.MaxUnseenPerAuthor/(epoch.MaxFrontier-1) + 2
		got := protocol.KnownKeyEventsForTest(p.c, g)
		t.Logf("%s: %d known key event ids after %d rekeys naming %d made-up ids (bound %d)", p.name, got, publishes, n, bound)
		if got > bound {
			t.Errorf("%s remembers %d key event ids after %d rekeys naming %d made-up prev ids (%d before, bound %d): the set grows with what a member makes up",
				p.name, got, publishes, n, before[p.name], bound)
		}
	}
	_, _, old := protocol.EpochInfo(a.c, g)
	must(t, a.c.RemoveMembers(ctx, g, c.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b)
	_, _, now := protocol.EpochInfo(a.c, g)
	if now == old {
		t.Fatalf("the removal did not rekey (epoch %s unchanged)", now)
	}
	mustSend(t, a, g, "after the removal")
	waitTexts(t, tn, g, []string{"after the removal"}, b)
	tn.settle()
	if got := c.texts(g)["after the removal"]; got != 0 {
		t.Errorf("the removed member read a message sent after its removal")
	}
	if _, _, cur := protocol.EpochInfo(c.c, g); cur == now {
		t.Errorf("the removed member computed the epoch after its removal")
	}
}

// TestSecRevokedRekeysNotRecorded: a revoked installation that never learnt of its
// revocation (or a thief holding it) keeps publishing rekeys under an epoch the members
// still open. They are dropped; none of their ids enters the members' schedules, where
// each would spend unseen-prev budget (MaxUnseenPerAuthor, MaxUnseenPrev) for good.
func TestSecRevokedRekeysNotRecorded(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 141}, 0)
	a, b, d := tn.add("a"), tn.add("b"), tn.add("d")
	tn.connect(a, b, d)
	d1 := tn.link(d, "d.1")
	g, err := a.c.CreateGroup(ctx, "revoked", "", b.id, d.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, d, d1)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	d1.pause() // d.1 hears nothing more: it never learns it is revoked
	must(t, d.c.RevokeInstallation(ctx, installationOf(t, d1)))
	tn.settle(a, b, d)
	mustSend(t, a, g, "after the revocation")
	waitTexts(t, tn, g, []string{"after the revocation"}, a, b, d)
	known := map[string]int{}
	for _, p := range []*peer{a, b} {
		known[p.name] = protocol.KnownKeyEventsForTest(p.c, g)
	}
	_, _, ea := protocol.EpochInfo(a.c, g)
	tp := newTapTB(t, tn.net, info.Topic)
	const rekeys = 5
	for range rekeys {
		must(t, d1.c.Rekey(ctx, g))
	}
	tn.settle(a, b, d)
	if n := len(tp.all()); n < rekeys {
		t.Fatalf("the revoked installation published %d envelopes, want ≥ %d", n, rekeys)
	}
	for _, e := range tp.all() { // and again, whatever the relay did
		for _, p := range []*peer{a, b} {
			protocol.Inject(p.c, e.Topic, e.Payload)
		}
	}
	tn.settle(a, b, d)
	for _, p := range []*peer{a, b} {
		if got := protocol.KnownKeyEventsForTest(p.c, g); got != known[p.name] {
			t.Errorf("%s: %d known key event ids after %d rekeys of a revoked installation, %d before", p.name, got, rekeys, known[p.name])
		}
		if _, _, e := protocol.EpochInfo(p.c, g); e != ea {
			t.Errorf("%s moved epoch on a revoked installation's rekey", p.name)
		}
	}
}

// TestSecWelcomeJoinUnknownPrev: the bound on unseen prev ids (epoch.MaxUnseenPerAuthor,
// TestSecRekeyUnknownPrev) held for key blocks only. A member's Welcome to a member
// (memberWelcome, merged by mergeJoin) applied its join's entries with every prev id
// recorded, unbounded: one pairwise Welcome of 31 entries naming 32 made-up ids each
// added 992 ids, so 67 of them filled MaxKnownEvents and froze the victim's key
// schedule. Here a member sends another three such Welcomes (each superseding the frontier
// the last one left): the victim remembers at most the sender's budget of made-up ids (and the
// entries of the joins it merged), and still applies the next removal's key event.
func TestSecWelcomeJoinUnknownPrev(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 151}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "join-prev", "", b.id, x.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, x)
	before := protocol.KnownKeyEventsForTest(b.c, g)
	n := 0
	madeUp := func() epoch.ID {
		n++
		return epoch.ID(sha256.Sum256([]byte(fmt.Sprint("made up ", n))))
	}
	const welcomes = 3
	xi := installationOf(t, x)
	for range welcomes {
		// The first entry supersedes b's frontier (so that the next join fits beside
		// it); every other prev id is made up. The entries are rekeys of x's
		// installation whose ids commit to their prev (madeUpRekey).
		_, front, _ := protocol.EpochInfo(b.c, g)
		var j epoch.Join
		for i := range epoch.MaxFrontier - 1 {
			var prev epoch.Frontier
			if i == 0 {
				prev = append(prev, front...)
			}
			for len(prev) < epoch.MaxFrontier {
				prev = append(prev, madeUp())
			}
			slices.SortFunc(prev, func(x, y epoch.ID) int { return bytes.Compare(x[:], y[:]) })
			e := madeUpRekey(g, xi, prev, fmt.Sprint("x's entry ", n), i == 0)
			e.Value[0] = byte(n)
			j = append(j, e)
		}
		slices.SortFunc(j, func(x, y epoch.JoinEntry) int { return bytes.Compare(x.Event[:], y.Event[:]) })
		must(t, protocol.SendWelcomeV2ForTest(x.c, installationOf(t, b), g, j))
		tn.settle()
	}
	bound := before + epoch.MaxUnseenPerAuthor + welcomes*epoch.MaxFrontier
	got := protocol.KnownKeyEventsForTest(b.c, g)
	t.Logf("b: %d known key event ids after %d Welcomes naming %d made-up ids (bound %d)", got, welcomes, n, bound)
	if got > bound || got < 0 {
		t.Errorf("b remembers %d key event ids after %d member Welcomes naming %d made-up ids (%d before, bound %d): a member's Welcome bypasses MaxUnseenPerAuthor",
			got, welcomes, n, before, bound)
	}
	// Not frozen: b still applies the next key event (whether or not a heal of its own
	// has superseded it since). (The made-up entries the first join brought stay in b's frontier: a member's Welcome
	// join is taken on its sender's word, spec › Known limits; b is cut off until a key
	// event supersedes them.)
	must(t, a.c.RemoveMembers(ctx, g, x.id))
	tn.settle()
	_, fa, _ := protocol.EpochInfo(a.c, g)
	if len(fa) != 1 || !protocol.AppliedKeyEventForTest(b.c, g, fa[0]) {
		t.Fatalf("b did not apply the removal's key event (a's frontier: %d events)", len(fa))
	}
}
