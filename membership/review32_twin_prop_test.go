package membership_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

// TestReview32HeldTwinProperty — fix 48 (reachingHeld: a held twin counts in twinReaches
// only while none of its twins is needed) checked for order dependence: review 31's late
// twin property (TestReview31LateTwinProperty) where half the re-signed copies are
// BACKDATED (the original's parents, a clock 1–39 below it: held twins of needed
// originals, or kept in place of unneeded ones, needed again when a replica that never saw
// the original builds on the copy), and copies are themselves re-signed (twins of twins,
// several held twins of one needed event). Asserted, per seed: Derive(all) equals Derive of
// its own log, every replica after receiving everything, and one-at-a-time delivery in a
// shuffled order (sameState). Result: see the commit message.
func TestReview32HeldTwinProperty(t *testing.T) {
	fails, pending, twins := 0, 0, 0
	const seeds = 150
	for seed := uint64(0); seed < seeds; seed++ {
		msg, p, n := review32HeldTwinProp(t, seed)
		pending += p
		twins += n
		if msg != "" {
			fails++
			if fails <= 5 {
				t.Errorf("seed %d: %s", seed, msg)
			}
		}
	}
	t.Logf("late re-signed events %d, pending events over all seeds: %d", twins, pending)
	if fails > 0 {
		t.Errorf("%d of %d seeds fail", fails, seeds)
	}
}

func review32HeldTwinProp(t *testing.T, seed uint64) (string, int, int) {
	rng := rand.New(rand.NewPCG(seed, 32))
	d := newDAG(t, fmt.Sprint("r32prop-", seed))
	d.add("add", "alice", ev(m.MembersAdded, 101, "bob", "carol", "dave", "eve"), "genesis")
	d.add("promote", "alice", ev(m.AdminsAdded, 102, "bob", "carol"), "add")
	names := actorNames[:5]
	replicas := map[string]*m.State{}
	for _, n := range names {
		st := d.derive()
		replicas[n] = &st
	}
	all := append([]m.Event(nil), d.all...)
	signed := map[string][]m.Event{} // unsigned copies of each author's events
	deliver := func(st *m.State, evs []m.Event) *m.State {
		if len(evs) == 0 {
			return st
		}
		next, _, err := m.Update(st, encodeMsg(t, d.chat, evs...), actors["frank"].pub, farFuture, m.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		return &next
	}
	late := 0
	for step := 0; step < 40; step++ {
		switch rng.IntN(3) {
		case 0:
			from, to := names[rng.IntN(5)], names[rng.IntN(5)]
			replicas[to] = deliver(replicas[to], replicas[from].Log())
			continue
		case 1:
			author := names[rng.IntN(5)]
			if len(signed[author]) == 0 {
				continue
			}
			tw := signed[author][rng.IntN(len(signed[author]))]
			if rng.IntN(2) == 0 {
				// Backdated: the original's parents, a smaller clock — held when the
				// original is needed (fix 48: it then does not count in twinReaches),
				// kept in its place (first in T) when nothing names the original.
				tw.Clock -= uint64(rng.IntN(39)) + 1
			} else {
				view := replicas[names[rng.IntN(5)]]
				tw.Parents = view.Heads
				tw.Clock = view.LastClock + uint64(rng.IntN(40)) + 1
			}
			signed[author] = append(signed[author], tw) // twins of twins later
			ts := sign(t, author, d.chat, tw)
			all = append(all, ts)
			late++
			to := names[rng.IntN(5)]
			replicas[to] = deliver(replicas[to], []m.Event{ts})
			continue
		}
		author := names[rng.IntN(5)]
		st := replicas[author]
		e, ok := randomAction(rng, st, author)
		if !ok || e.Type == m.MemberJoined {
			continue
		}
		e.Clock = st.LastClock + 40
		e.Parents = st.Heads
		s := sign(t, author, d.chat, e)
		all = append(all, s)
		signed[author] = append(signed[author], e)
		replicas[author] = deliver(st, []m.Event{s})
	}
	want := d.derive(all...)
	if again := d.derive(want.Log()...); !sameState(again, want) {
		return "Derive(own log) != Derive(all)", len(want.Pending), late
	}
	for _, n := range names {
		got := deliver(replicas[n], all[1:])
		if !sameState(*got, want) {
			return fmt.Sprintf("replica %s after everything != Derive(all): members %d vs %d, applied %d vs %d, pending %d vs %d, name %q vs %q",
				n, got.Members.Len(), want.Members.Len(), len(got.Events), len(want.Events), len(got.Pending), len(want.Pending), got.Name, want.Name), len(want.Pending), late
		}
	}
	order := append([]m.Event(nil), all[1:]...)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	st := d.derive(all[0])
	for _, e := range order {
		st = *deliver(&st, []m.Event{e})
	}
	if !sameState(st, want) {
		return fmt.Sprintf("one at a time (shuffled) != Derive(all): members %d vs %d, applied %d vs %d, pending %d vs %d",
			st.Members.Len(), want.Members.Len(), len(st.Events), len(want.Events), len(st.Pending), len(want.Pending)), len(want.Pending), late
	}
	return "", len(want.Pending), late
}
