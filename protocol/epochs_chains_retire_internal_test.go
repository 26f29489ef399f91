package protocol

import (
	"context"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestRetireReceiversTargeted: once the epochs that may hold receiving chains are known
// (after a first retirement), a retirement that retires none of them runs no statement,
// and one that retires one runs one delete, which takes exactly that epoch's chains (and
// their skipped keys); within the transaction and after it, the retired chains answer
// absent without a SELECT, and the kept ones are still read from the view (issue 13: a key
// event's receive deleted with NOT IN over every epoch kept and dropped the group's chains
// from view).
func TestRetireReceiversTargeted(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Client{senderEpochs: map[GroupID][][32]byte{}}
	g := GroupID{4}
	c.senderEpochs[g] = [][32]byte{} // no sending chain of ours
	run := func(fn func(tx *txn) error) {
		t.Helper()
		var tx *txn
		if err := st.WithTx(ctx, func(s storage.StoreTx) error {
			tx = &txn{StoreTx: s, c: c}
			return fn(tx)
		}); err != nil {
			t.Fatal(err)
		}
		for _, f := range tx.after {
			f()
		}
	}
	e1, e2, e3 := [32]byte{1}, [32]byte{2}, [32]byte{3}
	in := InstallationID{9}
	run(func(tx *txn) error {
		if err := tx.StoreTx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "chat", Topic: "topic"}); err != nil {
			return err
		}
		return tx.retireChains(g, [][32]byte{e1, e2}) // the group becomes known: no chain
	})
	run(func(tx *txn) error {
		for _, e := range [][32]byte{e1, e2} {
			rec := &storage.EpochChainRecord{Group: g, Epoch: e, Installation: in, State: []byte{e[0]}, Skipped: 1}
			if err := tx.putReceiverChainOwned(rec); err != nil {
				return err
			}
			if err := tx.UpdateSkippedKeys(&storage.SkippedKeysChange{Group: g, Epoch: e, Installation: in,
				Add: []storage.SkippedKey{{Iteration: 5}}}); err != nil {
				return err
			}
		}
		return nil
	})
	statements := func(fn func() error) uint64 {
		t.Helper()
		n := st.Statements()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		return st.Statements() - n
	}
	run(func(tx *txn) error {
		if n := statements(func() error { return tx.retireChains(g, [][32]byte{e1, e2, e3}) }); n != 0 {
			t.Errorf("a retirement retiring nothing ran %d statements", n)
		}
		if n := statements(func() error { return tx.retireChains(g, [][32]byte{e2, e3}) }); n != 1 {
			t.Errorf("a retirement of one epoch ran %d statements, want 1", n)
		}
		if n := statements(func() error {
			_, err := tx.receiverChainShared(g, e1, in)
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the retired chain in the transaction: %v", err)
			}
			r, err := tx.receiverChainShared(g, e2, in)
			if err != nil || r.State[0] != 2 {
				t.Errorf("the kept chain in the transaction: %v", err)
			}
			return nil
		}); n != 0 {
			t.Errorf("reading a retired and a kept chain ran %d statements", n)
		}
		return nil
	})
	run(func(tx *txn) error {
		if n := statements(func() error {
			if _, err := tx.receiverChainShared(g, e1, in); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the retired chain after commit: %v", err)
			}
			if r, err := tx.receiverChainShared(g, e2, in); err != nil || r.State[0] != 2 {
				t.Errorf("the kept chain after commit: %v", err)
			}
			return nil
		}); n != 0 {
			t.Errorf("reading a retired and a kept chain after commit ran %d statements", n)
		}
		if _, err := tx.StoreTx.ReceiverChain(g, e1, in); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the retired chain is still stored: %v", err)
		}
		if _, err := tx.StoreTx.SkippedKey(g, e1, in, 5); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the retired chain's skipped key is still stored: %v", err)
		}
		if _, err := tx.StoreTx.SkippedKey(g, e2, in, 5); err != nil {
			t.Errorf("the kept chain's skipped key: %v", err)
		}
		return nil
	})
}

// failKeys is a StoreTx whose PutGroupKeys fails while fail is set (a crash at the key
// event's last write, after the retirement).
type failKeys struct {
	storage.StoreTx
	fail bool
}

var errCrashKeys = errors.New("crash at the keys' write")

func (f *failKeys) PutGroupKeys(g GroupID, schedule, meta []byte) error {
	if f.fail {
		return errCrashKeys
	}
	return f.StoreTx.PutGroupKeys(g, schedule, meta)
}

// TestRetireReceiversRollback: a key event's transaction that fails after the delete of the
// retired receiving chains (at the keys' write, which comes last: flushKeys) leaves the
// store and the view as they were — the retired chain stored, found in view and, out of
// view, not answered absent by the receiving epochs known — and the same transaction
// retried stores the keys and deletes the chain (the retirement is part of the key event's
// transaction, and its view changes wait for the commit).
func TestRetireReceiversRollback(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Client{senderEpochs: map[GroupID][][32]byte{}}
	g := GroupID{5}
	c.senderEpochs[g] = [][32]byte{}
	fs := &failKeys{}
	run := func(fn func(tx *txn) error) error {
		var tx *txn
		err := st.WithTx(ctx, func(s storage.StoreTx) error {
			fs.StoreTx = s
			tx = &txn{StoreTx: fs, c: c}
			return fn(tx)
		})
		if err == nil {
			for _, f := range tx.after {
				f()
			}
		}
		return err
	}
	e1, e2 := [32]byte{1}, [32]byte{2}
	in := InstallationID{9}
	must(t, run(func(tx *txn) error {
		if err := tx.StoreTx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "chat", Topic: "topic", Schedule: []byte("old schedule"), EpochMeta: []byte("old meta")}); err != nil {
			return err
		}
		if err := tx.retireChains(g, [][32]byte{e1, e2}); err != nil {
			return err
		}
		return tx.putReceiverChainOwned(&storage.EpochChainRecord{Group: g, Epoch: e1, Installation: in, State: []byte{1}})
	}))
	keyEvent := func(tx *txn) error {
		if err := tx.retireChains(g, [][32]byte{e2}); err != nil {
			return err
		}
		return tx.StoreTx.PutGroupKeys(g, []byte("new schedule"), []byte("new meta"))
	}
	fs.fail = true
	if err := run(keyEvent); !errors.Is(err, errCrashKeys) {
		t.Fatalf("the failing key event: %v", err)
	}
	fs.fail = false
	check := func(schedule string, chain bool) {
		t.Helper()
		must(t, run(func(tx *txn) error {
			rec, err := tx.StoreTx.Group(g)
			if err != nil {
				return err
			}
			if string(rec.Schedule) != schedule {
				t.Errorf("schedule %q, want %q", rec.Schedule, schedule)
			}
			_, serr := tx.StoreTx.ReceiverChain(g, e1, in)
			_, verr := tx.receiverChainShared(g, e1, in)
			c.hot.chains = nil // evicted: the receiving epochs known answer (recvAbsent)
			_, aerr := tx.receiverChainShared(g, e1, in)
			if (serr == nil) != chain || (verr == nil) != chain || (aerr == nil) != chain {
				t.Errorf("the chain of e1: store %v, view %v, out of view %v; want stored %v", serr, verr, aerr, chain)
			}
			return nil
		}))
	}
	check("old schedule", true)
	must(t, run(keyEvent))
	check("new schedule", false)
}
