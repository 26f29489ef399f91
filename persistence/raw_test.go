package persistence

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestTransactionOnDriver: a transaction runs on the driver's connection (issue 16): it
// starts no goroutine (database/sql starts one per transaction, to roll it back if its
// context ends), its writes are undone when fn fails or panics, and a batch keeps the
// savepoints that succeeded, drops the one that failed, and drops all on EndBatch(false).
func TestTransactionOnDriver(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	put := func(tx storage.StoreTx, account string) {
		t.Helper()
		if err := tx.PutContact(&storage.ContactRecord{Account: account, DeviceList: []byte{1}}); err != nil {
			t.Fatal(err)
		}
	}
	has := func(account string) bool {
		t.Helper()
		found := false
		inTx(t, s, func(tx storage.StoreTx) error {
			_, err := tx.Contact(account)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
			found = err == nil
			return nil
		})
		return found
	}
	inTx(t, s, func(tx storage.StoreTx) error { put(tx, "warm"); return nil })

	before := runtime.NumGoroutine()
	during := 0
	inTx(t, s, func(tx storage.StoreTx) error {
		put(tx, "a")
		during = runtime.NumGoroutine()
		return nil
	})
	if during > before {
		t.Errorf("%d goroutines during a transaction, %d before", during, before)
	}
	if !has("a") {
		t.Fatal("committed write missing")
	}

	boom := errors.New("boom")
	if err := s.WithTx(ctx, func(tx storage.StoreTx) error { put(tx, "b"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("WithTx returned %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic not re-raised")
			}
		}()
		_ = s.WithTx(ctx, func(tx storage.StoreTx) error { put(tx, "c"); panic("boom") })
	}()
	if has("b") || has("c") {
		t.Fatal("a failed transaction's write is visible")
	}

	bctx, err := s.BeginBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(bctx, func(tx storage.StoreTx) error { put(tx, "d"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(bctx, func(tx storage.StoreTx) error { put(tx, "e"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("WithTx in batch returned %v", err)
	}
	if err := s.EndBatch(true); err != nil {
		t.Fatal(err)
	}
	if !has("d") || has("e") {
		t.Fatalf("after a batch: d %v (want true), e %v (want false)", has("d"), has("e"))
	}
	if bctx, err = s.BeginBatch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(bctx, func(tx storage.StoreTx) error { put(tx, "f"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.EndBatch(false); err != nil {
		t.Fatal(err)
	}
	if has("f") {
		t.Fatal("a rolled-back batch's write is visible")
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(ctx, func(storage.StoreTx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("WithTx after Close: %v, want ErrClosed", err)
	}
}

// TestRawExecAllocs: a write run on the driver allocates nothing of its own beyond what
// the driver does (the result and its two counters) and the arguments' boxing: its
// argument list is converted into the store's reused buffer, not kept (issue 16: the
// variadic slice of every write escaped to the heap).
func TestRawExecAllocs(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.begin(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.rollback() }()
	tx := &tx{s: s}
	id := make([]byte, 32)
	run := func() {
		if _, err := tx.exec(`UPDATE messages SET status = ? WHERE id = ?`, int64(1), id); err != nil {
			t.Fatal(err)
		}
	}
	run() // prepared
	// The driver's own: the result and the rowid and change counters passed to C.
	if n := testing.AllocsPerRun(200, run); n > 3 {
		t.Errorf("a write allocates %.0f times, want ≤ 3 (the driver's)", n)
	}
}

// TestTransactionsAcrossGoroutines: WithTx from several goroutines at once runs the
// transactions one at a time (the driver's connection has one transaction: a second
// BEGIN on it failed with "cannot start a transaction within a transaction", seen when
// a test read the outbox beside a running client), and a WithTx from outside an open
// batch waits for its end instead of joining it: rolling the batch back keeps the
// outsider's write.
func TestTransactionsAcrossGoroutines(t *testing.T) {
	s, err := Open(t.TempDir() + "/store.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const goroutines, each = 4, 50
	errs := make(chan error, goroutines)
	for g := range goroutines {
		go func() {
			for i := range each {
				err := s.WithTx(ctx, func(tx storage.StoreTx) error {
					return tx.PutContact(&storage.ContactRecord{Account: fmt.Sprintf("%d-%d", g, i), DeviceList: []byte{1}})
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	inTx(t, s, func(tx storage.StoreTx) error {
		for g := range goroutines {
			for i := range each {
				if _, err := tx.Contact(fmt.Sprintf("%d-%d", g, i)); err == nil {
					n++
				}
			}
		}
		return nil
	})
	if n != goroutines*each {
		t.Fatalf("%d of %d concurrent writes stored", n, goroutines*each)
	}

	bctx, err := s.BeginBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(bctx, func(tx storage.StoreTx) error {
		return tx.PutContact(&storage.ContactRecord{Account: "in-batch", DeviceList: []byte{1}})
	}); err != nil {
		t.Fatal(err)
	}
	outside := make(chan error, 1)
	go func() {
		outside <- s.WithTx(ctx, func(tx storage.StoreTx) error {
			return tx.PutContact(&storage.ContactRecord{Account: "outsider", DeviceList: []byte{1}})
		})
	}()
	select {
	case err := <-outside:
		t.Fatalf("a transaction from outside ran inside an open batch (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := s.EndBatch(false); err != nil {
		t.Fatal(err)
	}
	if err := <-outside; err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if _, err := tx.Contact("in-batch"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("rolled-back batch's write: %v, want not found", err)
		}
		if _, err := tx.Contact("outsider"); err != nil {
			t.Errorf("outsider's write after the batch: %v", err)
		}
		return nil
	})
}
