package persistence

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestCancelDuringTxKeepsStore: a caller's context that ends while its transaction is open
// (Run stopped mid-transaction) must not take the store down. database/sql discards the
// connection of a transaction whose context ends, and the store has exactly one
// connection (for ":memory:", the whole database).
func TestCancelDuringTxKeepsStore(t *testing.T) {
	for _, path := range []string{":memory:", filepath.Join(t.TempDir(), "c.db")} {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = s.WithTx(ctx, func(tx storage.StoreTx) error {
			cancel()
			<-ctx.Done()
			return nil
		})
		if err != nil {
			t.Logf("%s: transaction whose context ended: %v", path, err)
		}
		if err := s.WithTx(context.Background(), func(storage.StoreTx) error { return nil }); err != nil {
			t.Fatalf("%s: store unusable after a cancelled transaction: %v", path, err)
		}
		s.Close()
	}
}
