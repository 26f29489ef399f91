package persistence

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestGroupLogAppend: a group's event log is written whole by PutGroup, extended by
// AppendGroupLog and left alone by PutGroupExceptLog; a failed transaction leaves it as
// it was.
func TestGroupLogAppend(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := &storage.GroupRecord{ID: storage.GroupID{9}, ChatID: "c", Topic: "/t", Events: []byte{1, 2}, JoinedAt: t0}
	logOf := func(tx storage.StoreTx) []byte {
		got, err := tx.Group(g.ID)
		if err != nil {
			t.Fatal(err)
		}
		all, err := tx.Groups()
		if err != nil || len(all) != 1 || !bytes.Equal(all[0].Events, got.Events) {
			t.Fatalf("Groups disagrees with Group: %v", err)
		}
		return got.Events
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.AppendGroupLog(g.ID, []byte{3}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("append to a group not stored: %v", err)
		}
		if err := tx.PutGroupExceptLog(g); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("put of a group not stored: %v", err)
		}
		if err := tx.PutGroup(g); err != nil {
			return err
		}
		if err := tx.AppendGroupLog(g.ID, []byte{3}); err != nil {
			return err
		}
		if err := tx.AppendGroupLog(g.ID, []byte{4, 5}); err != nil {
			return err
		}
		if l := logOf(tx); !bytes.Equal(l, []byte{1, 2, 3, 4, 5}) {
			t.Fatalf("appended log %x", l)
		}
		g2 := *g
		g2.Name, g2.Events, g2.Clock = "renamed", nil, 7
		if err := tx.PutGroupExceptLog(&g2); err != nil {
			return err
		}
		got, err := tx.Group(g.ID)
		if err != nil || got.Name != "renamed" || got.Clock != 7 || !bytes.Equal(got.Events, []byte{1, 2, 3, 4, 5}) {
			t.Fatalf("after PutGroupExceptLog: %+v %v", got, err)
		}
		return nil
	})
	err = s.WithTx(context.Background(), func(tx storage.StoreTx) error {
		if err := tx.AppendGroupLog(g.ID, []byte{6}); err != nil {
			return err
		}
		return errors.New("fail")
	})
	if err == nil {
		t.Fatal("failed transaction committed")
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if l := logOf(tx); !bytes.Equal(l, []byte{1, 2, 3, 4, 5}) {
			t.Fatalf("log after a failed append %x", l)
		}
		g.Events = []byte{7}
		if err := tx.PutGroup(g); err != nil {
			return err
		}
		if l := logOf(tx); !bytes.Equal(l, []byte{7}) {
			t.Fatalf("log rewritten whole %x", l)
		}
		g.Events = nil
		if err := tx.PutGroup(g); err != nil {
			return err
		}
		if l := logOf(tx); len(l) != 0 {
			t.Fatalf("log cleared %x", l)
		}
		return nil
	})
}

// TestMigrationGroupLog: a database written by schema 8 (the event log inside
// chat_groups) opens at the newest schema and reads the same log, which then extends.
func TestMigrationGroupLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v8.db")
	db := dbAtSchema(t, path, 8)
	log := bytes.Repeat([]byte{0xab, 0xcd}, 70000)
	id, empty := storage.GroupID{4}, storage.GroupID{5}
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupCols+`) VALUES (?, 'chat', ?, 1, '/t', 'n', '', '', NULL, ?, NULL, 0, 0, 3, NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL)`,
		id[:], make([]byte, 32), log); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupCols+`) VALUES (?, 'empty', ?, 1, '/u', 'e', '', '', NULL, NULL, NULL, 0, 0, 0, NULL, 0, 1, 0, NULL, 0, 0, NULL, NULL)`,
		empty[:], make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	s := openMigrated(t, db, path)
	inTx(t, s, func(tx storage.StoreTx) error {
		g, err := tx.Group(id)
		if err != nil || g.ChatID != "chat" || g.Clock != 3 || !bytes.Equal(g.Events, log) {
			t.Fatalf("migrated group: %v, log kept: %v", err, g != nil && bytes.Equal(g.Events, log))
		}
		e, err := tx.Group(empty)
		if err != nil || len(e.Events) != 0 {
			t.Fatalf("migrated group without a log: %v", err)
		}
		if err := tx.AppendGroupLog(id, []byte{1}); err != nil {
			return err
		}
		g, err = tx.Group(id)
		if err != nil || !bytes.Equal(g.Events, append(log, 1)) {
			t.Fatalf("migrated log extended: %v", err)
		}
		return nil
	})
}

// dbAtSchema creates the database at path at schema version n: the first n migrations
// run as the store ran them then, schema_version filled in. The caller writes rows of
// that schema, closes it and opens it with Open to test the later migrations.
func dbAtSchema(t *testing.T, path string, n int) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range migrationNames(t)[:n] {
		body, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, migrationVersion(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// openMigrated closes db (a database dbAtSchema built, at path) and opens it with the
// store, which migrates it: the store is at the newest schema (closed when t ends).
func openMigrated(t *testing.T, db *sqlx.DB, path string) *Store {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if v, err := s.SchemaVersion(); err != nil || v != newestSchema(t) {
		t.Fatalf("schema version %d %v", v, err)
	}
	return s
}

// migrationNames lists the store's migrations in the order they run.
func migrationNames(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// migrationVersion is the schema version migration name brings a database to (its
// number: the numbers need not be consecutive).
func migrationVersion(t *testing.T, name string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
	if err != nil {
		t.Fatalf("migration %q: %v", name, err)
	}
	return n
}

// newestSchema is the version of the last migration.
func newestSchema(t *testing.T) int {
	names := migrationNames(t)
	return migrationVersion(t, names[len(names)-1])
}
