package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview28C2OverriddenRemovalNotCut — fix 36's cutOverridden cuts the kept seed's prev
// links of an applied key event judged overridden only when its author is no member (C1
// kept overridden, or C3 applied); a removal overridden by C2 (a concurrent promotion of
// its target) whose author stays a member keeps its links, so fix 32's crossing is back.
// Scene: a (creator) with a2, b, m, t; a2 and t admins. Everyone but a pauses; a promotes m
// (Pm); t, not having seen Pm, removes m (R, key event, prev F0). b is handed R (applies it)
// and rekeys (H_b, prev {R}), then is handed Pm: R is overridden at b (C2), its author t a
// member. a and a2 are handed Pm, R (refused: C2 overridden), H_b (applied beside R's prev:
// frontier {F0, H_b}). m and t go offline; a, a2, b run again, settle, and each sends.
// Asserted: a, a2 and b end on one epoch and each reads the others' texts.
// Result (f38cdf9): fails 3 of 3 — after the hand-off a2 stands on {F0, H_b}; a and a2 heal
// and settle on one epoch, b on another for good (5 s after settling), b never reads "from
// a" nor "from a2" (a and a2 read b). Cause checked by a temporary patch (not committed):
// with cutOverridden cutting every st.Overridden event (the IsMember condition dropped), 3
// of 3 runs read every text (b composes {F0, H_b}); 1 of those 3 still ends with b on
// another epoch 5 s after settling (a residual crossing, not analysed).
// Suggested root fix (epochs_kept.go cutOverridden): cut every applied key event st keeps
// overridden (st.Overridden), its author a member or not — the refusers stand on its prev
// beside what names it whatever the rule; cutting only adds candidates (never removes an
// antichain), so a C2 override later undone costs nothing but a few candidate epochs.
// Residual (fac6e3c: 3 of 8 failed the last assertion): when b was designated, its heal E
// (prev {H_b}, for m) left a and a2 on {F0, E}, b on {E}, nobody seeing anything to heal.
// Fix 43 (epochMeta.apart): a refuser's frontier holding R's prev beside what names R is
// unhealed, b and t standing aside; a heals over {F0, E} (24 of 24). A rekey by a converged
// them too before (5 of 5 failing runs); one by b does not.
func TestReview28C2OverriddenRemovalNotCut(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 2831}, 0)
	a, a2, b := tn.add("a"), tn.add("a2"), tn.add("b")
	m, tt := tn.add("m"), tn.add("t")
	tn.connect(a, a2, b, m, tt)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "r28c2", "", a2.id, m.id, tt.id, b.id)
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
	waitSameEpoch(tn, g, a, a2, b, m, tt)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	rd := tn.net.Join("reader")
	window := func(from, to time.Time) []transport.Envelope {
		envs, err := rd.History(ctx, []string{topic}, from, to)
		must(t, err)
		return envs
	}
	for _, p := range []*peer{a2, b, m, tt} {
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
	protocol.ReceiveLiveForTest(b.c, slices.Clone(envPm))
	if len(envPm) == 0 || len(envR) == 0 || len(envH) == 0 {
		t.Fatalf("setup: %d envelopes of Pm, %d of R, %d of H_b", len(envPm), len(envR), len(envH))
	}
	all := func(parts ...[]transport.Envelope) []transport.Envelope {
		var out []transport.Envelope
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	protocol.ReceiveLiveForTest(a.c, all(envR, envH))
	protocol.ReceiveLiveForTest(a2.c, all(envPm, envR, envH))
	tn.net.SetOffline(m.name, true)
	tn.net.SetOffline(tt.name, true)
	for _, p := range []*peer{a, a2, b} {
		_, f, e := protocol.EpochInfo(p.c, g)
		ids, applied, _, _ := protocol.KeptForTest(p.c, g)
		info, _ := p.c.Group(ctx, g)
		t.Logf("after hand-off %s: frontier %s epoch %x; m member %v admin %v; kept %s (%d applied)", p.name, shortIDs(f), e[:4],
			slices.Contains(info.Members, m.id), slices.Contains(info.Admins, m.id), shortIDs(ids), countTrue(applied))
	}
	runAgainAndSend(t, tn, ctx, g, a, a2, b)
	for _, p := range []*peer{a, a2, b} {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("settled %s: frontier %s epoch %x", p.name, shortIDs(f), e[:4])
	}
	assertReadEach(t, tn, g, a, a2, b)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, ea := protocol.EpochInfo(a.c, g)
		_, _, e2 := protocol.EpochInfo(a2.c, g)
		_, _, eb := protocol.EpochInfo(b.c, g)
		if ea == e2 && ea == eb {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("epochs differ 5 s after settling: a %x, a2 %x, b %x", ea[:4], e2[:4], eb[:4])
			break
		}
		tn.settle(a, a2, b)
		time.Sleep(100 * time.Millisecond)
	}
}
