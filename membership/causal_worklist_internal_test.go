package membership

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// groundedFixedPoint is fix 37's rule 3 computation (overriddenIn before fix 40), kept as
// a reference for TestGroundedWorklistMatchesFixedPoint: passes over the contested events
// until none changes — an event with an applied threat is defeated, one whose threats are
// all defeated is applied (a threat that is not contested is applied) — and the events left
// undecided are overridden too. One pass per link of a threat chain listed from its far end
// (O(events x links), review 28 finding 4).
func groundedFixedPoint(g *threatGraph) bitset {
	var out bitset
	if len(g.events) == 0 {
		return out
	}
	label := make(map[int]int, len(g.events))
	for _, e := range g.events {
		label[e] = labelUndecided
	}
	state := func(j int) int {
		if l, ok := label[j]; ok {
			return l
		}
		return labelApplied // no threat (or a root)
	}
	for changed := true; changed; {
		changed = false
		for i, e := range g.events {
			if label[e] != labelUndecided {
				continue
			}
			all := true
			for _, t := range g.threatsOf(i) {
				switch state(t) {
				case labelApplied:
					label[e], changed = labelDefeated, true
				case labelUndecided:
					all = false
				}
				if label[e] == labelDefeated {
					break
				}
			}
			if label[e] == labelUndecided && all {
				label[e], changed = labelApplied, true
			}
		}
	}
	for _, e := range g.events {
		if label[e] != labelApplied {
			out.set(e)
		}
	}
	return out
}

// randomThreatGraph: n kept indices below 3n, a random share of them contested, listed in
// ascending or shuffled order, each threatened by 1..4 (mostly 1 or 2) random indices
// (contested or not; repeats and self-threats included: the two computations must agree on
// any graph, not only on the ones rules C1-C3 build). Shapes: acyclic (threats only from
// contested events earlier in a hidden order, as rules C1-C3 mostly build, so that labels
// propagate far), chains, cycles, and unconstrained tangles.
func randomThreatGraph(rng *rand.Rand) *threatGraph {
	n := 1 + rng.IntN(60)
	ids := rng.Perm(3 * n)[:n]
	slices.Sort(ids)
	share := 1 + rng.IntN(4) // contested: share in 5
	var contested []int
	for _, id := range ids {
		if rng.IntN(5) < share {
			contested = append(contested, id)
		}
	}
	if len(contested) == 0 {
		contested = ids[:1]
	}
	rng.Shuffle(len(contested), func(i, j int) { contested[i], contested[j] = contested[j], contested[i] })
	shape := rng.IntN(4)
	outside := rng.IntN(4) // chance in 8 of a threat by any index (often uncontested)
	threats := make([][]int, len(contested))
	for i := range contested {
		k := 1 + rng.IntN(2)
		if rng.IntN(4) == 0 {
			k += rng.IntN(3)
		}
		for range k {
			var t int
			switch {
			case rng.IntN(8) < outside:
				t = ids[rng.IntN(len(ids))]
			case shape == 0 && i > 0: // acyclic: an earlier one
				t = contested[rng.IntN(i)]
			case shape == 1 && i > 0 && rng.IntN(4) != 0: // chains: the previous one
				t = contested[i-1]
			case shape == 2 && rng.IntN(3) != 0: // cycles: the next one, wrapping
				t = contested[(i+1)%len(contested)]
			case shape == 3:
				t = contested[rng.IntN(len(contested))]
			default:
				t = ids[rng.IntN(len(ids))]
			}
			threats[i] = append(threats[i], t)
		}
	}
	order := rng.Perm(len(contested)) // the listing order (the kept order in overriddenIn)
	if rng.IntN(3) == 0 {
		slices.SortFunc(order, func(a, b int) int { return contested[a] - contested[b] })
	}
	g := &threatGraph{}
	for _, i := range order {
		g.events = append(g.events, contested[i])
		g.off = append(g.off, len(g.threats))
		g.threats = append(g.threats, threats[i]...)
	}
	return g
}

// TestGroundedWorklistMatchesFixedPoint (fix 40): the worklist (threatGraph.grounded) and
// the passes it replaced (groundedFixedPoint) label every random threat graph alike.
func TestGroundedWorklistMatchesFixedPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 28))
	kinds := map[string]int{}
	for i := range 10000 {
		g := randomThreatGraph(rng)
		want, got := groundedFixedPoint(g), g.grounded()
		for _, e := range g.events {
			if want.has(e) != got.has(e) {
				t.Fatalf("graph %d: event %d overridden: fixed point %v, worklist %v\nevents %v\noff %v\nthreats %v",
					i, e, want.has(e), got.has(e), g.events, g.off, g.threats)
			}
			if got.has(e) {
				kinds["overridden"]++
			} else {
				kinds["applied"]++
			}
		}
		for j := range 3 * 61 {
			if got.has(j) && !slices.Contains(g.events, j) {
				t.Fatalf("graph %d: %d overridden, not contested", i, j)
			}
		}
	}
	if kinds["overridden"] == 0 || kinds["applied"] == 0 {
		t.Fatalf("degenerate graphs: %v", kinds)
	}
	t.Logf("%v", kinds)
}

// TestGroundedWorklistChain (fix 40): a threat chain listed from its far end is decided
// in one pass — r_0 (threatened by an uncontested event) defeated, r_1 applied, ... — as
// the fixed point decides it.
func TestGroundedWorklistChain(t *testing.T) {
	const L = 1000
	g := &threatGraph{}
	for i := L; i >= 1; i-- { // event i is threatened by event i-1; event 0 has no threat
		g.events = append(g.events, i)
		g.off = append(g.off, len(g.threats))
		g.threats = append(g.threats, i-1)
	}
	out := g.grounded()
	for i := 1; i <= L; i++ {
		if out.has(i) != (i%2 == 1) {
			t.Fatalf("event %d overridden %v", i, out.has(i))
		}
	}
	if ref := groundedFixedPoint(g); !slices.Equal(ref, out) {
		t.Fatal("fixed point differs")
	}
}
