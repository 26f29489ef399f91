package persistence

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestSqliteMemoryStatisticsOff: sqlite keeps no memory statistics (init), so its
// allocations take no process-wide mutex. With them on, an open store's connection
// counts as allocated memory.
func TestSqliteMemoryStatisticsOff(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WithTx(context.Background(), func(tx storage.StoreTx) error {
		_, err := tx.MarkSeenOnce([32]byte{1}, time.Unix(1_700_000_000, 0))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := sqliteMemoryUsed(); n != 0 {
		t.Fatalf("sqlite counts %d bytes allocated: its memory statistics are on", n)
	}
}
