package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// mutualScene is the mutual-removal scene shared by TestReview26MutualRemovalConcurrent and
// TestFix32MutualRemovalParentLate (see the first's doc comment). a (creator, admin), a2
// (admin), m, t (tt), b, all but a paused: a promotes m (Pm) while a2, which has not seen
// Pm, promotes t (Pt); m, handed only Pm, removes t (M); t, handed only Pt, removes m (R).
// m and t then go offline. The envelopes of each event are kept for the tests to hand out
// in their own orders (handOff), then check runs what both tests assert.
type mutualScene struct {
	t                        *testing.T
	tn                       *testNet
	ctx                      context.Context
	g                        protocol.GroupID
	a, a2, b, m, tt, c       *peer
	window                   func(from, to time.Time) []transport.Envelope
	t0                       time.Time
	envPm, envPt, envM, envR []transport.Envelope
	mID, rID                 epoch.ID // M's and R's key event ids (zero when not found)
}

// newMutualScene builds the scene up to M and R published. With bHealsFirst, b is the
// peer with the smallest installation id of a, a2, b (the designated installation once m
// and t are gone); otherwise the peers are added as a, a2, b.
func newMutualScene(t *testing.T, seed int64, bHealsFirst bool) *mutualScene {
	t.Helper()
	tn := newTestNet(t, memory.Config{Seed: seed}, 0)
	s := &mutualScene{t: t, tn: tn, ctx: context.Background()}
	if !bHealsFirst {
		s.a, s.a2, s.b = tn.addPersistent("a"), tn.addPersistent("a2"), tn.addPersistent("b")
	} else {
		// b the designated installation once m and t are gone (the smallest installation
		// id of the three): it heals over R at the hand-off, before a and a2 run.
		ps := byInstallation(t, []*peer{tn.addPersistent("p1"), tn.addPersistent("p2"), tn.addPersistent("p3")})
		s.b, s.a, s.a2 = ps[0], ps[1], ps[2]
		t.Logf("roles (debug logs name the peers p1..p3): a is %s, a2 is %s, b is %s", s.a.name, s.a2.name, s.b.name)
		s.a.name, s.a2.name, s.b.name = "a", "a2", "b"
	}
	a, a2, b := s.a, s.a2, s.b
	m, tt, c := tn.add("m"), tn.add("t"), tn.add("c")
	s.m, s.tt, s.c = m, tt, c
	tn.connect(a, a2, b, m, tt, c)
	ctx := s.ctx
	g, err := a.c.CreateGroup(ctx, "r26m", "", a2.id, m.id, tt.id, b.id)
	must(t, err)
	s.g = g
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, a2.id))
	tn.settle()
	tn.waitFor("a2 admin", func() bool {
		info, err := a2.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Admins, a2.id)
	})
	waitSameEpoch(tn, g, a, a2, b, m, tt)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	rd := tn.net.Join("reader")
	s.window = func(from, to time.Time) []transport.Envelope {
		envs, err := rd.History(ctx, []string{topic}, from, to)
		must(t, err)
		return envs
	}
	for _, p := range []*peer{a2, b, m, tt} {
		p.pause()
	}
	s.t0 = time.Now().Add(-time.Millisecond)
	must(t, a.c.AddAdmins(ctx, g, m.id)) // Pm
	time.Sleep(30 * time.Millisecond)
	t1 := time.Now()
	must(t, a2.c.AddAdmins(ctx, g, tt.id)) // Pt, a2 has not seen Pm
	time.Sleep(30 * time.Millisecond)
	t2 := time.Now()
	s.envPm, s.envPt = s.window(s.t0, t1), s.window(t1, t2)
	a.pause()
	protocol.ReceiveLiveForTest(m.c, slices.Clone(s.envPm))
	protocol.ReceiveLiveForTest(tt.c, slices.Clone(s.envPt))
	im, err := m.c.Group(ctx, g)
	must(t, err)
	it, err := tt.c.Group(ctx, g)
	must(t, err)
	if !slices.Contains(im.Admins, m.id) || slices.Contains(im.Admins, tt.id) || !slices.Contains(it.Admins, tt.id) || slices.Contains(it.Admins, m.id) {
		t.Fatalf("setup: m admins %v, t admins %v (%d/%d envelopes)", im.Admins, it.Admins, len(s.envPm), len(s.envPt))
	}
	must(t, m.c.RemoveMembers(ctx, g, tt.id)) // M
	time.Sleep(30 * time.Millisecond)
	t3 := time.Now()
	must(t, tt.c.RemoveMembers(ctx, g, m.id)) // R
	time.Sleep(30 * time.Millisecond)
	t4 := time.Now()
	s.envM, s.envR = s.window(t2, t3), s.window(t3, t4)
	t.Logf("envelopes: Pm %d, Pt %d, M %d, R %d", len(s.envPm), len(s.envPt), len(s.envM), len(s.envR))
	if len(s.envM) == 0 || len(s.envR) == 0 {
		t.Fatal("setup: M or R not published")
	}
	tn.net.SetOffline(m.name, true)
	tn.net.SetOffline(tt.name, true)
	_, fm, _ := protocol.EpochInfo(m.c, g)
	_, ft, _ := protocol.EpochInfo(tt.c, g)
	t.Logf("m's frontier after M %s; t's after R %s", shortIDs(fm), shortIDs(ft))
	if len(fm) == 1 {
		s.mID = fm[0]
	}
	if len(ft) == 1 {
		s.rID = ft[0]
	}
	return s
}

// members returns p's members of the group (nil when p has no group).
func (s *mutualScene) members(p *peer) []string {
	i, err := p.c.Group(s.ctx, s.g)
	if err != nil {
		return nil
	}
	return i.Members
}

// detail describes p's state for the logs: members, M and R, frontier, refused, held.
func (s *mutualScene) detail(p *peer) string {
	g, mID, rID := s.g, s.mID, s.rID
	_, f, e := protocol.EpochInfo(p.c, g)
	listed, open := protocol.RefusedForTest(p.c, g)
	hu := ""
	for id, n := range protocol.HeldUnseenForTest(p.c, g) {
		hu += fmt.Sprintf("%x(M %v R %v):%d ", id[:4], id == mID, id == rID, n)
	}
	byA, _, _ := protocol.HeldForTest(p.c, g, s.a.id)
	byA2, _, _ := protocol.HeldForTest(p.c, g, s.a2.id)
	byB, all, unseen := protocol.HeldForTest(p.c, g, s.b.id)
	return fmt.Sprintf("%s: schedule bytes %d; members %d (m %v t %v) M applied %v known %v, R applied %v known %v; frontier %s epoch %x; refused listed %d open %d; held by a %d a2 %d b %d all %d unseen %d [%s]",
		p.name, protocol.ScheduleSizeForTest(p.c, g), len(s.members(p)), slices.Contains(s.members(p), s.m.id), slices.Contains(s.members(p), s.tt.id),
		protocol.AppliedKeyEventForTest(p.c, g, mID), protocol.KnownKeyEventForTest(p.c, g, mID),
		protocol.AppliedKeyEventForTest(p.c, g, rID), protocol.KnownKeyEventForTest(p.c, g, rID),
		shortIDs(f), e[:4], listed, open, byA, byA2, byB, all, unseen, hu)
}

// logB logs b's members once it was handed R.
func (s *mutualScene) logB() {
	ms := s.members(s.b)
	s.t.Logf("b after R: members %d (m %v, t %v)", len(ms), slices.Contains(ms, s.m.id), slices.Contains(ms, s.tt.id))
}

// handOff hands y (a, a2) M then R — a with Pt, a2 with Pm — and x (b) what deliverB
// hands it, each as one live receive while paused; then logs every member's state.
func (s *mutualScene) handOff(deliverB func()) {
	protocol.ReceiveLiveForTest(s.a.c, slices.Concat(s.envPt, s.envM, s.envR))
	protocol.ReceiveLiveForTest(s.a2.c, slices.Concat(s.envPm, s.envM, s.envR))
	deliverB()
	for _, p := range []*peer{s.a, s.a2, s.b} {
		s.t.Logf("after hand-off: %s", s.detail(p))
	}
}

// check runs a, a2 and b again and asserts what both tests assert: neither m nor t a
// member (C3), M's key event applied at all or at none, one epoch, texts read both ways;
// after two more rounds of texts and restarts of a and b, no key event id held on a
// member's word; a newcomer c added after reads and is read; m and t, fed the topic's
// envelopes, read nothing sent after.
func (s *mutualScene) check() {
	t, tn, ctx, g := s.t, s.tn, s.ctx, s.g
	a, a2, b, m, tt, c := s.a, s.a2, s.b, s.m, s.tt, s.c
	runAgainAndSend(t, tn, ctx, g, a, a2, b)
	for _, p := range []*peer{a, a2, b} {
		t.Logf("settled: %s", s.detail(p))
	}
	for _, p := range []*peer{a, a2, b} {
		if ms := s.members(p); slices.Contains(ms, m.id) || slices.Contains(ms, tt.id) {
			t.Errorf("%s: m a member %v, t a member %v: C3 removes both (a split of the membership)", p.name, slices.Contains(ms, m.id), slices.Contains(ms, tt.id))
		}
	}
	ap := protocol.AppliedKeyEventForTest(a.c, g, s.mID)
	for _, p := range []*peer{a2, b} {
		if got := protocol.AppliedKeyEventForTest(p.c, g, s.mID); got != ap {
			t.Errorf("%s: M's key event applied %v, at a %v", p.name, got, ap)
		}
	}
	_, _, ea := protocol.EpochInfo(a.c, g)
	for _, p := range []*peer{a2, b} {
		if _, _, e := protocol.EpochInfo(p.c, g); e != ea {
			t.Errorf("%s: epoch %x, a's %x", p.name, e[:4], ea[:4])
		}
	}
	assertReadEach(t, tn, g, a, a2, b)
	// Later traffic and restarts: does anything release what is held?
	for round := range 2 {
		for _, p := range []*peer{a, a2, b} {
			mustSend(t, p, g, fmt.Sprintf("later %d from %s", round, p.name))
		}
		tn.settle(a, a2, b)
	}
	a.restart()
	b.restart()
	tn.settle(a, a2, b)
	mustSend(t, a2, g, "after restarts")
	tn.settle(a, a2, b)
	for _, p := range []*peer{a, a2, b} {
		t.Logf("later: %s", s.detail(p))
		if _, all, _ := protocol.HeldForTest(p.c, g, a.id); all > 0 {
			t.Errorf("%s holds %d key event ids on a member's word for good (M or R, whose blocks nobody takes)", p.name, all)
		}
	}
	// A newcomer after it: does the hold get in the way of an add?
	must(t, a.c.AddMembers(ctx, g, c.id))
	tn.settle(a, a2, b, c)
	mustSend(t, a, g, "to c")
	mustSend(t, c, g, "from c")
	tn.settle(a, a2, b, c)
	if !readWithin(tn, c, g, "to c", 5*time.Second) {
		t.Errorf("c (added after) did not read a's text")
	}
	for _, p := range []*peer{a, a2, b} {
		if !readWithin(tn, p, g, "from c", 5*time.Second) {
			t.Errorf("%s did not read c's text", p.name)
		}
		t.Logf("after c's add: %s", s.detail(p))
	}
	envs := s.window(s.t0, time.Time{})
	for _, p := range []*peer{m, tt} {
		for _, e := range envs {
			protocol.Inject(p.c, e.Topic, e.Payload)
		}
		for _, text := range []string{"from a", "from a2", "from b"} {
			if p.texts(g)[text] != 0 {
				t.Errorf("%s (removed) read %q", p.name, text)
			}
		}
	}
}

// runAgainAndSend starts the runs of peers again (stopped for a hand-off), settles them, has
// each send "from <its name>" in g and settles them again, twice, half a second apart.
func runAgainAndSend(t *testing.T, tn *testNet, ctx context.Context, g protocol.GroupID, peers ...*peer) {
	t.Helper()
	for _, p := range peers {
		p.dev.Run = chorustest.Start(ctx, p.c, p.dev.Events)
		p.refresh()
	}
	tn.settle(peers...)
	for _, p := range peers {
		mustSend(t, p, g, "from "+p.name)
	}
	tn.settle(peers...)
	time.Sleep(500 * time.Millisecond)
	tn.settle(peers...)
}

// assertReadEach asserts that each of peers reads, within 5 s, the text "from <name>" that
// runAgainAndSend had each of them send in g (its own included).
func assertReadEach(t *testing.T, tn *testNet, g protocol.GroupID, peers ...*peer) {
	t.Helper()
	for _, p := range peers {
		for _, q := range peers {
			if text := "from " + q.name; !readWithin(tn, p, g, text, 5*time.Second) {
				t.Errorf("%s did not read %q", p.name, text)
			}
		}
	}
}
