package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix45ThirdApplierDesignated (review 29, by reading; fix 43's leftover): fix 43's apart
// check has the refusers of a key event X heal over X's prev beside what names X, X's author
// and the authors of their frontier events beside X's prev standing aside (apartInstalls);
// but any other member that applied X before the override reached it stands past X too,
// sees nothing to heal, and a refuser cannot tell it from one that refused X. Designated, it
// held the heal back to the overdue fallback (one heal grace per candidate before the
// refuser). Scene (review 28's c2cut with a third applier c; roles by installation id, b <
// c < a < a2 < m < t): a (creator) with a2, b, c, m, t; a2 and t admins. a promotes m (Pm);
// t, not having seen Pm, removes m (R, prev F0). b is handed R, rekeys (H_b, prev {R}), is
// handed Pm (C2 overrides R) and heals as designated for m, a member again (E). c is handed
// R, H_b, Pm and E: it stands on b's frontier, nothing to heal for it. a and a2 are handed
// R (refused), H_b and E. m and t go offline; a, a2, b, c run again. Asserted: all four on
// one epoch within half a heal grace (3 s), before anyone sends (a send rekeys first and
// would hide it); then each reads the others' texts.
// Result (2282d59): fails — b's heal E named {H_b}: a and a2 stood on {F0, E}, apart, with b
// and t aside c designated, c past R saw nothing: a healed at its overdue turn, one grace
// (3 s) after the restart.
// Fixed (epochMeta.behind): b, past R once Pm cut it, finds the epoch unhealed too and its
// heal E names {F0, H_b}: one epoch at the hand-off, and no heal after the restart (one heal
// for the condition: asserted, counting the four's rekeys from Pm at b on).
func TestFix45ThirdApplierDesignated(t *testing.T) {
	fix45Scene(t, true)
}

// TestFix45RefuserDesignatedOneHeal: TestFix45ThirdApplierDesignated's scene with a
// designated (a < b < c < a2 < m < t): b, past R once Pm came, sees the epoch unhealed (m,
// and behind) but waits for a; c too; a heals over {F0, H_b} as designated. One heal for
// the four, from b's Pm on (none aside: the views agree), one epoch within half a grace.
func TestFix45RefuserDesignatedOneHeal(t *testing.T) {
	fix45Scene(t, false)
}

// fix45Scene runs the scene of TestFix45ThirdApplierDesignated; bFirst: b has the smallest
// installation id (then c, a, a2, m, t), else a (then b, c, a2, m, t).
func fix45Scene(t *testing.T, bFirst bool) {
	const grace = 3 * time.Second
	tn := newNetWith(t, memory.Config{Seed: 4501}, 0, protocol.WithEpochs(true), protocol.WithHealGrace(grace))
	var ps []*peer
	for _, n := range []string{"p0", "p1", "p2", "p3", "p4", "p5"} {
		ps = append(ps, tn.add(n))
	}
	slices.SortFunc(ps, func(p, q *peer) int {
		ip, iq := protocol.OwnInstallationForTest(p.c), protocol.OwnInstallationForTest(q.c)
		return bytes.Compare(ip[:], iq[:])
	})
	b, c, a, a2, m, tt := ps[0], ps[1], ps[2], ps[3], ps[4], ps[5]
	if !bFirst {
		a, b, c = ps[0], ps[1], ps[2]
	}
	tn.connect(ps...)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "fix45", "", a2.id, b.id, c.id, m.id, tt.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, a2.id, tt.id))
	tn.settle()
	tn.waitFor("a2, t admins", func() bool {
		for _, p := range []*peer{a2, tt} {
			info, err := p.c.Group(ctx, g)
			if err != nil || !slices.Contains(info.Admins, p.id) {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, ps...)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	rd := tn.net.Join("reader")
	window := func(from, to time.Time) []transport.Envelope {
		envs, err := rd.History(ctx, []string{info.Topic}, from, to)
		must(t, err)
		return envs
	}
	for _, p := range []*peer{a2, b, c, m, tt} {
		p.pause()
	}
	t0 := time.Now().Add(-time.Millisecond)
	must(t, a.c.AddAdmins(ctx, g, m.id)) // Pm
	time.Sleep(30 * time.Millisecond)
	t1 := time.Now()
	a.pause()
	must(t, tt.c.RemoveMembers(ctx, g, m.id)) // R: t has not seen Pm
	time.Sleep(30 * time.Millisecond)
	t2 := time.Now()
	envPm, envR := window(t0, t1), window(t1, t2)
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envR))
	must(t, b.c.Rekey(ctx, g)) // H_b, prev {R}
	time.Sleep(30 * time.Millisecond)
	t3 := time.Now()
	envH := window(t2, t3)
	four := []*peer{a, a2, b, c}
	total := func() int {
		n := 0
		for _, p := range four {
			n += protocol.RekeysForTest(p.c)
		}
		return n
	}
	before := total()
	rekeys := protocol.RekeysForTest(b.c)
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envPm)) // b heals as designated: E
	if n, want := protocol.RekeysForTest(b.c)-rekeys, map[bool]int{true: 1, false: 0}[bFirst]; n != want {
		t.Fatalf("setup: b rekeyed %d times when Pm came, want %d", n, want)
	}
	time.Sleep(30 * time.Millisecond)
	t4 := time.Now()
	envE := window(t3, t4)
	if len(envPm) == 0 || len(envR) == 0 || len(envH) == 0 || bFirst && len(envE) == 0 {
		t.Fatalf("setup: %d envelopes of Pm, %d of R, %d of H_b, %d of b's heal", len(envPm), len(envR), len(envH), len(envE))
	}
	all := func(parts ...[]transport.Envelope) []transport.Envelope {
		var out []transport.Envelope
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	protocol.ReceiveLiveForTest(c.c, all(envR, envH, envPm, envE))
	protocol.ReceiveLiveForTest(a.c, all(envR, envH, envE))
	protocol.ReceiveLiveForTest(a2.c, all(envPm, envR, envH, envE))
	tn.net.SetOffline(m.name, true)
	tn.net.SetOffline(tt.name, true)
	for _, p := range four {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("after hand-off %s: frontier %s epoch %x", p.name, shortIDs(f), e[:4])
	}
	start := time.Now()
	for _, p := range four {
		p.dev.Run = chorustest.Start(ctx, p.c, p.dev.Events)
		p.refresh()
	}
	for {
		tn.settle(four...)
		_, _, ea := protocol.EpochInfo(a.c, g)
		same := true
		for _, p := range four[1:] {
			if _, _, e := protocol.EpochInfo(p.c, g); e != ea {
				same = false
			}
		}
		if same {
			t.Logf("one epoch %.2f s after the restart", time.Since(start).Seconds())
			if heals := total() - before; heals != 1 {
				t.Errorf("%d heals from Pm at b on, want one", heals)
			}
			break
		}
		if time.Since(start) > grace/2 {
			for _, p := range four {
				_, f, e := protocol.EpochInfo(p.c, g)
				t.Logf("%s: frontier %s epoch %x", p.name, shortIDs(f), e[:4])
			}
			t.Fatalf("epochs differ %.1f s after the restart (heal grace %v): the heal waits for the overdue fallback", time.Since(start).Seconds(), grace)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range four {
		mustSend(t, p, g, "from "+p.name)
	}
	tn.settle(four...)
	for _, p := range four {
		for _, q := range four {
			if !readWithin(tn, p, g, "from "+q.name, 5*time.Second) {
				t.Errorf("%s did not read %q", p.name, "from "+q.name)
			}
		}
	}
}
