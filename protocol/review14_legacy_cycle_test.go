package protocol_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// scriptedRand is crypto/rand, except that the next 16-byte read after arm returns the
// bytes armed (a rekey's nonce: the first 16-byte read of a plain Rekey).
type scriptedRand struct {
	mu    sync.Mutex
	nonce []byte
}

func (r *scriptedRand) arm(n []byte) { r.mu.Lock(); r.nonce = n; r.mu.Unlock() }

func (r *scriptedRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nonce != nil && len(p) == len(r.nonce) {
		copy(p, r.nonce)
		r.nonce = nil
		return len(p), nil
	}
	return rand.Read(p)
}

// TestReview14LegacyRekeyCycle (review 14; not a session 10 change, found on the way): a
// version 3 block's rekey id (epoch.LegacyRekeyID) commits to its author and nonce only,
// not to its prev, and such blocks are still applied. A member m can then name, in the
// prev of one rekey A, the id B of a rekey it has not made yet (its nonce chosen), and
// make B with prev {A}: every other member applies A (B held on m's word), then B,
// superseded by A, supersedes A: their frontier is empty — in either order, for good,
// and no member can rekey out of it (a rekey's prev cannot be empty). m itself applied
// both with its real prev ({F} then {A}) and is on {B}. Asserted: a's frontier is not empty
// after A and B, and a's text is read by b. Measured on main: a's and b's frontiers are
// empty; a's Send fails ("seeds missing for the current frontier: no key event applied"),
// and so do a's RemoveMembers of m (the same) and a's Rekey ("malformed input: key block
// prev"): the group is dead for every member but m. The prev hook and a scripted nonce
// stand for a modified client; an older version's blocks are made with SetLegacyIDsForTest.
// Since cycle12 both rekeys are refused (uncommitted: a legacy id commits to no prev), a
// and b stay on {F}.
func TestReview14LegacyRekeyCycle(t *testing.T) {
	tn, g, a, b, m := legacyCycleScene(t)
	ctx := context.Background()
	for _, p := range []*peer{a, b, m} {
		_, f, e := protocol.EpochInfo(p.c, g)
		t.Logf("%s: frontier %s epoch %x", p.name, shortFrontier(f), e[:4])
	}
	if _, f, _ := protocol.EpochInfo(a.c, g); len(f) == 0 {
		t.Errorf("a's frontier is empty after m's rekeys A (prev {F, B}) and B (prev {A})")
	}
	if _, err := a.c.Send(ctx, g, protocol.Text("from a")); err != nil {
		t.Fatalf("a: send: %v", err)
	}
	waitTexts(t, tn, g, []string{"from a"}, b)
}

// legacyCycleScene: a makes a group of a, b and m; m publishes rekeys A (prev {F, B}) and
// B (prev {A}) as version 3 blocks; everyone settled.
func legacyCycleScene(t *testing.T) (*testNet, protocol.GroupID, *peer, *peer, *peer) {
	tn := newTestNet(t, memory.Config{Seed: 1403}, 0)
	r := &scriptedRand{}
	a, b := tn.addPersistent("a"), tn.addPersistent("b")
	m := tn.addAt("m", ":memory:", protocol.WithRand(r))
	tn.connect(a, b, m)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "cycle", "", b.id, m.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, m)

	protocol.SetLegacyIDsForTest(m.c, true)
	nonceB := bytes.Repeat([]byte{0x5b}, epoch.NonceSize)
	idB := epoch.LegacyRekeyID(epoch.ID(g), epoch.Installation(installationOf(t, m)), [epoch.NonceSize]byte(nonceB))
	protocol.SetRekeyPrevHookForTest(m.c, func(f epoch.Frontier) epoch.Frontier {
		prev := append(slices.Clone(f), idB)
		slices.SortFunc(prev, func(x, y epoch.ID) int { return bytes.Compare(x[:], y[:]) })
		return prev
	})
	must(t, m.c.Rekey(ctx, g)) // A, prev {F, B}
	protocol.SetRekeyPrevHookForTest(m.c, nil)
	_, fa, _ := protocol.EpochInfo(m.c, g)
	r.arm(nonceB)
	must(t, m.c.Rekey(ctx, g)) // B, prev {A}
	_, fm, _ := protocol.EpochInfo(m.c, g)
	if len(fa) != 1 || !slices.Equal(fm, epoch.Frontier{idB}) {
		t.Fatalf("precondition: m's frontier after A %s, after B %s, want {B} = %s", shortFrontier(fa), shortFrontier(fm), shortFrontier(epoch.Frontier{idB}))
	}
	tn.settle(a, b, m)
	return tn, g, a, b, m
}
