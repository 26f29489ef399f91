package persistence

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestUnavailableDiskFull: a write sqlite refuses for lack of room (SQLITE_FULL, here the
// database capped at its current size with max_page_count) comes back from the StoreTx
// method wrapping storage.ErrUnavailable — the store failed, not the data: the engine
// retries the envelope instead of marking it seen (review 21) — and the transaction leaves
// nothing behind. The same write fits once the cap is lifted.
func TestUnavailableDiskFull(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rec := &storage.PendingRecord{Hash: [32]byte{1}, Topic: "/t", Payload: make([]byte, 1<<20), ReceivedAt: time.Unix(1, 0)}
	var pages int64
	if err := s.conn.GetContext(ctx, &pages, `PRAGMA page_count`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	err = s.WithTx(ctx, func(tx storage.StoreTx) error { return tx.PutPending(rec) })
	if err == nil {
		t.Fatal("a 1 MiB write into a database capped at its size succeeded: the test's disk is not full")
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("disk full: %v, want it to wrap storage.ErrUnavailable", err)
	}
	var n int
	inTx(t, s, func(tx storage.StoreTx) error {
		ps, err := tx.Pending(10)
		n = len(ps)
		return err
	})
	if n != 0 {
		t.Fatalf("%d pending records after the failed write, want 0", n)
	}
	if _, err := s.conn.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error { return tx.PutPending(rec) })
}

// TestUnavailableNotForData: an error caused by the statement's data (here a read of a
// table that does not exist: SQLITE_ERROR) is not the store's failure.
func TestUnavailableNotForData(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.WithTx(context.Background(), func(st storage.StoreTx) error {
		var v int
		return st.(*tx).get(&v, `SELECT x FROM no_such_table`)
	})
	if err == nil || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a statement on a missing table: %v, want an error not wrapping storage.ErrUnavailable", err)
	}
}
