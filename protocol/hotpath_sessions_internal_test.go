package protocol

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestSessionViewFollowsStore: SessionByBaseKey through the view answers as the store
// does (the uncached look-up) after reads, updates, inserts, key changes, deletes, a
// rolled-back transaction and a reload; a committed read or update serves the next
// transaction without a statement.
func TestSessionViewFollowsStore(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Client{}
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
	var remote InstallationID
	remote[0] = 7
	k1, k2 := sessKey{remote: remote, base: [32]byte{1}}, sessKey{remote: remote, base: [32]byte{2}}
	now := time.Unix(1700000000, 123).UTC()
	rec := &storage.SessionRecord{Remote: remote, BaseKey: k1.base, State: []byte("s0"), AD: []byte("ad"), CreatedAt: now, UpdatedAt: now}
	// check compares every key's answer through the view with the store's own.
	check := func(what string) {
		t.Helper()
		if err := run(func(tx *txn) error {
			for _, k := range []sessKey{k1, k2} {
				want, werr := tx.StoreTx.SessionByBaseKey(k.remote, k.base)
				got, gerr := tx.SessionByBaseKey(k.remote, k.base)
				if (werr == nil) != (gerr == nil) || werr != nil && !errors.Is(gerr, storage.ErrNotFound) || !reflect.DeepEqual(want, got) {
					t.Fatalf("%s: key %x: view %v (%v), store %v (%v)", what, k.base[:1], got, gerr, want, werr)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(func(tx *txn) error { return tx.PutSession(rec) }); err != nil {
		t.Fatal(err)
	}
	check("inserted")
	// A committed read serves the next look-up without a statement.
	before := st.Statements()
	if err := run(func(tx *txn) error { _, err := tx.SessionByBaseKey(remote, k1.base); return err }); err != nil {
		t.Fatal(err)
	}
	if n := st.Statements() - before; n != 0 {
		t.Fatalf("a look-up in view ran %d statements", n)
	}
	// The caller's copy is its own.
	if err := run(func(tx *txn) error {
		r, err := tx.SessionByBaseKey(remote, k1.base)
		if err == nil {
			r.State[0] = 'X'
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("copy modified")
	// An update (as the receive path does) is followed.
	if err := run(func(tx *txn) error {
		r, err := tx.SessionByBaseKey(remote, k1.base)
		if err != nil {
			return err
		}
		r.State, r.Confirmed, r.HintChain, r.UpdatedAt = []byte("s1"), true, []byte{}, now.Add(time.Second)
		return tx.PutSession(r)
	}); err != nil {
		t.Fatal(err)
	}
	check("updated")
	// A rolled-back update leaves the view as the store.
	if err := run(func(tx *txn) error {
		r, err := tx.SessionByBaseKey(remote, k1.base)
		if err != nil {
			return err
		}
		r.State = []byte("lost")
		if err := tx.PutSession(r); err != nil {
			return err
		}
		if got, _ := tx.SessionByBaseKey(remote, k1.base); string(got.State) != "lost" {
			t.Fatal("the transaction does not see its own update")
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	check("rolled back")
	// The session's key changes: the old key answers not found.
	if err := run(func(tx *txn) error {
		r, err := tx.SessionByBaseKey(remote, k1.base)
		if err != nil {
			return err
		}
		r.BaseKey = k2.base
		return tx.PutSession(r)
	}); err != nil {
		t.Fatal(err)
	}
	check("key changed")
	// A second session under k1, then a delete of the first.
	other := &storage.SessionRecord{Remote: remote, BaseKey: k1.base, State: []byte("o"), AD: []byte("ad2"), CreatedAt: now, UpdatedAt: now}
	if err := run(func(tx *txn) error { return tx.PutSession(other) }); err != nil {
		t.Fatal(err)
	}
	check("second inserted")
	if err := run(func(tx *txn) error { return tx.DeleteSession(rec.ID) }); err != nil {
		t.Fatal(err)
	}
	check("deleted")
	// A rolled-back delete keeps the session in view and in the store.
	if err := run(func(tx *txn) error {
		if err := tx.DeleteSession(other.ID); err != nil {
			return err
		}
		if _, err := tx.SessionByBaseKey(remote, k1.base); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the transaction sees the session it deleted: %v", err)
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	check("delete rolled back")
	if len(c.hot.sessions) == 0 {
		t.Fatal("nothing in view: the checks compared the store with itself")
	}
}
