package protocol

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestRecvAbsentMatchesStore: a receiving chain the view answers absent without a SELECT
// (recvEpochs) is absent from the store, and every other answer is the store's, over
// random transactions of chain stores, retirements (keeping new epochs too), deletes by
// installation, and rollbacks; once a retirement made the group known, look-ups of
// absent chains run no statement.
func TestRecvAbsentMatchesStore(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Client{}
	var g GroupID
	g[0] = 3
	errRollback := errors.New("rollback")
	run := func(fn func(tx *txn) error) error {
		var tx *txn
		err := st.WithTx(ctx, func(s storage.StoreTx) error {
			tx = &txn{StoreTx: s, c: c}
			return fn(tx)
		})
		if err == nil {
			for _, f := range tx.after {
				f()
			}
		}
		return err
	}
	if err := run(func(tx *txn) error {
		return tx.StoreTx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "chat", Topic: "topic"})
	}); err != nil {
		t.Fatal(err)
	}
	epochs := make([][32]byte, 8)
	for i := range epochs {
		epochs[i][0] = byte(i + 1)
	}
	insts := []InstallationID{{1}, {2}}
	r := rand.New(rand.NewPCG(5, 9))
	skipped := 0
	check := func(round int) {
		t.Helper()
		if err := run(func(tx *txn) error {
			for _, e := range epochs {
				for _, in := range insts {
					_, serr := tx.StoreTx.ReceiverChain(g, e, in)
					before := st.Statements()
					_, verr := tx.receiverChainShared(g, e, in)
					if st.Statements() == before && errors.Is(verr, storage.ErrNotFound) {
						skipped++
					}
					if (serr == nil) != (verr == nil) || verr != nil && !errors.Is(verr, storage.ErrNotFound) {
						t.Fatalf("round %d: epoch %d inst %d: view %v, store %v", round, e[0], in[0], verr, serr)
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := run(func(tx *txn) error {
			stored, err := tx.StoreTx.ReceiverChains(g)
			eps, known := c.hot.recvEpochs[g]
			for _, rec := range stored {
				if known && !slices.Contains(eps, rec.Epoch) {
					t.Fatalf("round %d: a chain of epoch %d stored, its epoch not in view", round, rec.Epoch[0])
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 300 {
		fail := r.IntN(4) == 0
		err := run(func(tx *txn) error {
			for range 1 + r.IntN(3) {
				switch r.IntN(3) {
				case 0:
					rec := &storage.EpochChainRecord{Group: g, Epoch: epochs[r.IntN(len(epochs))], Installation: insts[r.IntN(2)], State: []byte{1}}
					if err := tx.putReceiverChainOwned(rec); err != nil {
						return err
					}
				case 1:
					var keep [][32]byte
					for _, e := range epochs {
						if r.IntN(2) == 0 {
							keep = append(keep, e)
						}
					}
					if err := tx.retireChains(g, keep); err != nil {
						return err
					}
				default:
					if err := tx.DeleteReceiverChains(g, insts[r.IntN(2)]); err != nil {
						return err
					}
				}
			}
			if fail {
				return errRollback
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		check(round)
	}
	if skipped == 0 {
		t.Fatal("no absent chain answered without a statement")
	}
}
