package protocol

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// chainsStore is a StoreTx holding sending chains' epochs only, staged until commit.
type chainsStore struct {
	storage.StoreTx
	rows, staged [][32]byte
	full         int // deletes in both tables
}

func (s *chainsStore) PutSenderChain(r *storage.EpochChainRecord) error {
	if !slices.Contains(s.staged, r.Epoch) {
		s.staged = append(s.staged, r.Epoch)
	}
	return nil
}

func (s *chainsStore) DeleteEpochChains(_ GroupID, keep [][32]byte) error {
	s.full++
	s.staged = slices.DeleteFunc(s.staged, func(e [32]byte) bool { return !slices.Contains(keep, e) })
	return nil
}

func (s *chainsStore) DeleteEpochReceivers(GroupID, [][32]byte) error { return nil }

// TestRetireChainsSkip: with the client's record of the epochs holding sending chains
// (retireChains, noteSenderChain), random transactions of sends and retirements — some
// failing, some after the record is lost (a restart) — leave exactly the sending chains that
// deleting in both tables at every retirement leaves, and skip that delete when it would
// delete nothing.
func TestRetireChainsSkip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	g := GroupID{1}
	c := &Client{}
	cached, plain := &chainsStore{}, &chainsStore{}
	skipped := 0
	for round := range 3000 {
		if r.IntN(50) == 0 {
			c.senderEpochs = nil // a restart: nothing known
		}
		cached.staged, plain.staged = slices.Clone(cached.rows), slices.Clone(plain.rows)
		t1 := &txn{StoreTx: cached, c: c}
		fullBefore := cached.full
		retired := false
		for range 1 + r.IntN(6) {
			e := [32]byte{byte(r.IntN(4))}
			if r.IntN(3) == 0 {
				var keep [][32]byte
				for k := range 4 {
					if r.IntN(2) == 0 {
						keep = append(keep, [32]byte{byte(k)})
					}
				}
				must(t, t1.retireChains(g, keep))
				must(t, plain.DeleteEpochChains(g, keep))
				retired = true
				continue
			}
			must(t, t1.PutSenderChain(&storage.EpochChainRecord{Group: g, Epoch: e}))
			must(t, plain.PutSenderChain(&storage.EpochChainRecord{Group: g, Epoch: e}))
		}
		if !slices.Equal(sorted(cached.staged), sorted(plain.staged)) {
			t.Fatalf("round %d: sending chains %x, deleting in both tables leaves %x", round, cached.staged, plain.staged)
		}
		if retired && cached.full == fullBefore {
			skipped++
		}
		if r.IntN(4) == 0 {
			continue // the transaction fails: nothing staged is kept, nor its commit actions
		}
		cached.rows, plain.rows = cached.staged, plain.staged
		for _, f := range t1.after {
			f()
		}
	}
	if skipped == 0 {
		t.Fatal("no retirement skipped the sending chains' delete")
	}
}

func sorted(es [][32]byte) [][32]byte {
	out := slices.Clone(es)
	slices.SortFunc(out, func(a, b [32]byte) int { return int(a[0]) - int(b[0]) })
	return out
}
