package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestFix23RefusedChainThree — TestReview22RefusedChainSplit with a third event: m, an
// admin on a version before cycle12, adds c (M1), adds x (M2, sealed under m's epoch of
// {M1}) and removes c (M3, under {M2}), all before any heal reaches it. The others keep
// each refused event's seed for opening (keepRefused), so they open M2 and M3 in turn,
// apply both membership events and heal over what they refused. Asserted: a, b and m list
// the same members (x in, c out), a reads m's text and m a's, and c, removed by M3, reads
// nothing a sends after it.
func TestFix23RefusedChainThree(t *testing.T) {
	tn, a, b, m, c, g := review20Scene(t, 2301)
	ctx := context.Background()
	x := tn.add("x")
	tn.connect(m, x)
	protocol.SetMemberUncommittedForTest(m.c, true)
	must(t, m.c.AddMembers(ctx, g, c.id))    // M1
	must(t, m.c.AddMembers(ctx, g, x.id))    // M2
	must(t, m.c.RemoveMembers(ctx, g, c.id)) // M3
	tn.settle()
	time.Sleep(time.Second)
	tn.settle()
	members := map[string][]string{}
	for _, p := range []*peer{a, b, m} {
		_, f, e := protocol.EpochInfo(p.c, g)
		info, err := p.c.Group(ctx, g)
		must(t, err)
		members[p.name] = slices.Sorted(slices.Values(info.Members))
		t.Logf("%s: frontier %v epoch %x, %d members", p.name, shortFrontier(f), e[:4], len(info.Members))
	}
	for _, p := range []string{"b", "m"} {
		if !slices.Equal(members["a"], members[p]) {
			t.Errorf("members differ: a %d, %s %d", len(members["a"]), p, len(members[p]))
		}
	}
	if slices.Contains(members["a"], c.id) || !slices.Contains(members["a"], x.id) {
		t.Errorf("a: c listed %v (removed by M3), x listed %v (added by M2)",
			slices.Contains(members["a"], c.id), slices.Contains(members["a"], x.id))
	}
	mustSend(t, a, g, "from a")
	mustSend(t, m, g, "from m")
	waitTexts(t, tn, g, []string{"from a"}, b, m)
	waitTexts(t, tn, g, []string{"from m"}, a, b)
	tn.settle()
	if n := c.texts(g)["from a"]; n != 0 {
		t.Errorf("c, removed by m, read a's text sent after the removal")
	}
}
