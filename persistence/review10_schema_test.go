package persistence

import (
	"path/filepath"
	"testing"
)

// TestReview10NewerSchemaRefused (review 10): a database a newer version migrated past the
// migrations this build embeds (schema_version records 1..newest+1: a later release's
// migration, e.g. a changed encoding of a column) opens without a word. migrate skips
// every embedded migration (n <= cur) and returns nil, and the old code then reads and
// writes a schema it does not know — a downgrade after an upgrade, or a database copied
// from a newer install. Open must refuse a schema version above the newest it embeds.
func TestReview10NewerSchemaRefused(t *testing.T) {
	newest := len(migrationNames(t))
	path := filepath.Join(t.TempDir(), "newer.db")
	db := dbAtSchema(t, path, newest)
	// A later release's migration newest+1: a column this build does not know of.
	if _, err := db.Exec(`ALTER TABLE chat_groups ADD COLUMN future_state BLOB`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, newest+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path)
	if err == nil {
		v, _ := s.SchemaVersion()
		s.Close()
		t.Fatalf("a database at schema version %d opened with a build whose newest migration is %d (SchemaVersion %d); want it refused", newest+1, newest, v)
	}
	t.Logf("refused: %v", err)
}
