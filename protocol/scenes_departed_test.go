package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// Scenes shared by the tests of a departed author's events (fix 31, fix 35, review 27),
// all on fix31Scene: a creator, b and m admins, m's account on m and m2, c a member.

// departSplit records, from the store, the departure D of m's account (depart "removal":
// m2's step-down and a's removal of m, fix31StepDownRemove; "leave": m2's leave) and m's
// renames made concurrently, one per name of names, in order (each after the one before:
// a later one names the earlier as parent). m is paused (it never sees D); a, b and c are
// offline (none saw a rename before D was made; a, which makes the removal, goes offline
// after it). It returns D's envelopes and each rename's (exactly one each).
func departSplit(t *testing.T, tn *testNet, a, b, m, m2, c *peer, g protocol.GroupID, depart string, names ...string) (envD []transport.Envelope, envR [][]transport.Envelope) {
	t.Helper()
	ctx := context.Background()
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	m.pause()
	m2.pause()
	tn.net.SetOffline(b.name, true)
	tn.net.SetOffline(c.name, true)
	start := time.Now().Add(-time.Millisecond)
	switch depart {
	case "removal":
		fix31StepDownRemove(t, tn, a, m, m2, g)
	case "leave":
		tn.net.SetOffline(a.name, true)
		must(t, m2.c.Leave(ctx, g))
	}
	time.Sleep(20 * time.Millisecond)
	tn.net.SetOffline(a.name, true) // a sees no rename
	var cuts []time.Time
	for _, name := range names {
		cuts = append(cuts, time.Now())
		must(t, m.c.SetName(ctx, g, name)) // m still an admin in its view
		time.Sleep(20 * time.Millisecond)
	}
	cuts = append(cuts, time.Time{})
	rd := tn.net.Join("reader")
	envD, err = rd.History(ctx, []string{topic}, start, cuts[0])
	must(t, err)
	bad := len(envD) == 0
	for i := range names {
		envs, err := rd.History(ctx, []string{topic}, cuts[i], cuts[i+1])
		must(t, err)
		envR = append(envR, envs)
		bad = bad || len(envs) != 1
	}
	if bad {
		counts := make([]int, len(envR))
		for i, envs := range envR {
			counts[i] = len(envs)
		}
		t.Fatalf("setup: %d envelopes of the departure, %v of m's renames, want some and 1 each", len(envD), counts)
	}
	return envD, envR
}

// departedRenamesChecked, once a, b and c have settled after meeting D and m's renames
// (departSplit), asserts what TestFix31DepartedNonKey and TestFix35DepartedNonKeyParentLate
// assert: a, b and c keep the group's first name (the renames overridden: rule C1), the
// same membership heads (lost: what differing heads mean in the test), b's later rename
// (naming last, m's last rename, as parent) applies at a and c, and texts are read both
// ways.
func departedRenamesChecked(t *testing.T, tn *testNet, a, b, c *peer, g protocol.GroupID, last, lost string) {
	t.Helper()
	ctx := context.Background()
	for _, p := range []*peer{a, b, c} {
		info, err := p.c.Group(ctx, g)
		must(t, err)
		if info.Name != "f25" {
			t.Errorf("%s: name %q, want %q (m's renames overridden: rule C1)", p.name, info.Name, "f25")
		}
	}
	ha, hb, hc := protocol.HeadsForTest(a.c, g), protocol.HeadsForTest(b.c, g), protocol.HeadsForTest(c.c, g)
	t.Logf("heads a %d b %d c %d", len(ha), len(hb), len(hc))
	if !slices.Equal(ha, hb) || !slices.Equal(hc, hb) {
		t.Errorf("membership heads differ: a %d, b %d, c %d (%s)", len(ha), len(hb), len(hc), lost)
	}
	must(t, b.c.SetName(ctx, g, "later")) // b stored the renames: its rename names the last as parent
	tn.settle(a, b, c)
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range []*peer{a, c} {
		for {
			info, err := p.c.Group(ctx, g)
			must(t, err)
			if info.Name == "later" {
				break
			}
			if time.Now().After(deadline) {
				_, _, pend := protocol.StoredEventsForTest(p.c, g)
				t.Fatalf("%s never applies b's later rename (name %q, %d pending events): it names %s as parent", p.name, info.Name, pend, last)
			}
			tn.settle(p)
		}
	}
	mustSend(t, a, g, "from a")
	mustSend(t, b, g, "from b")
	mustSend(t, c, g, "from c")
	tn.settle(a, b, c)
	waitTexts(t, tn, g, []string{"from a", "from b", "from c"}, a, b, c)
}

// online brings every peer of ps back online and settles them.
func online(tn *testNet, ps ...*peer) {
	for _, p := range ps {
		tn.net.SetOffline(p.name, false)
	}
	tn.settle(ps...)
}

// removeM removes m's account (fix31StepDownRemove: m2 steps down, a removes m), then the
// peers of at settle and wait until m is no member there. Pausing m (and m2) so that they
// never learn of it is the caller's.
func removeM(t *testing.T, tn *testNet, a, m, m2 *peer, g protocol.GroupID, at ...*peer) {
	t.Helper()
	fix31StepDownRemove(t, tn, a, m, m2, g)
	tn.settle(at...)
	names := make([]string, len(at))
	for i, p := range at {
		names[i] = p.name
	}
	tn.waitNotMember(fmt.Sprintf("m removed at %v", names), g, m, at...)
}

// removedAdminAct is the scene of TestReview27DepartedPromotionReinstates and
// TestReview27DepartedRemovalUndoesLeave: fix31Scene (seed), m paused (it never learns
// what follows); c departs (cGone: removed by a, or leaves) and a and b apply it; m's
// account is removed (removeM) and a and b settle on one epoch without m. Then m, unaware
// of both, makes its publish (act, named label: P or X), and a and b settle.
// Asserted: c is no member at a or b (cBack: the error saying what re-admitted it) and
// their members did not change; c (cWho: "removed", "which left") does not read the text
// a sends after ("after "+label).
type removedAdminAct struct {
	seed  int64
	cGone func(ctx context.Context, tn *testNet, a, b, c, m2 *peer, g protocol.GroupID) error
	act   func(ctx context.Context, m, c *peer, g protocol.GroupID) error
	label string
	cBack string
	cWho  string
}

func (sc removedAdminAct) run(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tn, a, b, m, m2, c, g := fix31Scene(t, sc.seed)
	m.pause()
	must(t, sc.cGone(ctx, tn, a, b, c, m2, g))
	tn.waitNotMember("c gone at a and b", g, c, a, b)
	removeM(t, tn, a, m, m2, g, a, b)
	waitSameEpoch(tn, g, a, b)
	before := map[string][]string{}
	for _, p := range []*peer{a, b} {
		info, err := p.c.Group(ctx, g)
		must(t, err)
		before[p.name] = slices.Clone(info.Members)
	}
	must(t, sc.act(ctx, m, c, g))
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
			t.Errorf("%s: %s", p.name, sc.cBack)
		}
		if !slices.Equal(info.Members, before[p.name]) {
			t.Errorf("%s: members changed by a removed installation's publish: %v -> %v", p.name, before[p.name], info.Members)
		}
	}
	text := "after " + sc.label
	mustSend(t, a, g, text)
	tn.settle(a, b, c)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && c.texts(g)[text] == 0 {
		tn.settle(c)
		time.Sleep(100 * time.Millisecond)
	}
	if c.texts(g)[text] > 0 {
		t.Errorf("c, %s, reads a's text sent after %s", sc.cWho, sc.label)
	}
}
