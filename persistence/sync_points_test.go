package persistence

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestSyncPoints: a topic's store points are replaced as a whole (a store left out is
// gone), kept per topic, deleted by an empty set, pruned before a time across topics, and
// survive a reopen of the file store.
func TestSyncPoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "points.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if pts, err := tx.SyncPoints("/a"); err != nil || len(pts) != 0 {
			t.Fatalf("points of a new topic: %v %v", pts, err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(tx.SetSyncPoints("/a", map[string]time.Time{"s1": t0, "s2": t0.Add(time.Hour)}))
		must(tx.SetSyncPoints("/a", map[string]time.Time{"s2": t0.Add(2 * time.Hour), "s3": t0.Add(3 * time.Hour)}))
		must(tx.SetSyncPoints("/b", map[string]time.Time{"s1": t0.Add(-time.Hour), "s2": t0.Add(time.Minute)}))
		must(tx.SetSyncPoints("/c", map[string]time.Time{"s1": t0}))
		must(tx.SetSyncPoints("/c", nil))
		must(tx.PruneSyncPoints(t0))
		return nil
	})
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inTx(t, s, func(tx storage.StoreTx) error {
		for topic, want := range map[string]map[string]time.Time{
			"/a": {"s2": t0.Add(2 * time.Hour), "s3": t0.Add(3 * time.Hour)},
			"/b": {"s2": t0.Add(time.Minute)},
			"/c": {},
		} {
			got, err := tx.SyncPoints(topic)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("%s: points %v, want %v", topic, got, want)
			}
			for store, at := range want {
				if !got[store].Equal(at) {
					t.Errorf("%s: %s at %v, want %v", topic, store, got[store], at)
				}
			}
		}
		return nil
	})
}

// TestMigrationSyncPoints: a database of the schema before the store points opens with its
// sync marks as they were and no store point (every store asked from the last sync, as
// before).
func TestMigrationSyncPoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v15.db")
	db := dbAtSchema(t, path, len(migrationNames(t))-1)
	if _, err := db.Exec(`INSERT INTO sync_marks (topic, last_sync) VALUES (?, ?)`, "/a", t2i(t0)); err != nil {
		t.Fatal(err)
	}
	s := openMigrated(t, db, path)
	inTx(t, s, func(tx storage.StoreTx) error {
		if at, err := tx.LastSync("/a"); err != nil || !at.Equal(t0) {
			t.Fatalf("sync mark: %v %v", at, err)
		}
		if pts, err := tx.SyncPoints("/a"); err != nil || len(pts) != 0 {
			t.Fatalf("store points after the migration: %v %v", pts, err)
		}
		return nil
	})
}
