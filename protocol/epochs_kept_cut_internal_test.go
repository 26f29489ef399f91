package protocol

import (
	"encoding/hex"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
)

// TestKeptCutOverriddenComposes (fix 36): kept seeds P, R (prev {P}) and H (prev {R}) never
// compose {P, H} — P is behind H through R — until R's links are cut (cutOverridden: R an
// event we applied that our state judges overridden for good); then they do, and every
// candidate composed before is composed still (candidates are only added).
func TestKeptCutOverriddenComposes(t *testing.T) {
	group := epoch.ID{7}
	mk := func(tag byte, prev ...epoch.ID) (epoch.ID, keptSeed) {
		id, seed := epoch.ID{tag, 1}, epoch.Seed{tag, 2}
		k := keptSeed{ID: id.String(), Seed: hex.EncodeToString(seed[:])}
		for _, p := range prev {
			k.Prev = append(k.Prev, p.String())
		}
		return id, k
	}
	p, kp := mk(1)
	r, kr := mk(2, p)
	h, kh := mk(3, r)
	f, err := epoch.NewFrontier(p, h)
	if err != nil {
		t.Fatal(err)
	}
	want, err := epoch.EpochID(group, f)
	if err != nil {
		t.Fatal(err)
	}
	has := func(eps []epoch.Epoch) bool {
		return slices.ContainsFunc(eps, func(e epoch.Epoch) bool { return e.ID == want })
	}
	before := keptCandidates(group, []keptSeed{kp, kr, kh}, nil, nil)
	if has(before) {
		t.Fatalf("{P, H} composed with R's links: P is behind H")
	}
	kr.Prev = nil
	after := keptCandidates(group, []keptSeed{kp, kr, kh}, nil, nil)
	if !has(after) {
		t.Fatalf("{P, H} not composed with R's links cut (%d candidates)", len(after))
	}
	for _, e := range before {
		if !slices.ContainsFunc(after, func(x epoch.Epoch) bool { return x.ID == e.ID }) {
			t.Errorf("candidate %x lost by the cut", e.ID[:4])
		}
	}
	t.Logf("candidates: %d before the cut, %d after", len(before), len(after))
}
