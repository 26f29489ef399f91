package persistence

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// walFrames returns how many frames s's WAL file holds (the pages written since the
// last TRUNCATE checkpoint).
func walFrames(t *testing.T, s *Store, path string) int {
	t.Helper()
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var size int
	if err := s.conn.GetContext(context.Background(), &size, `PRAGMA page_size`); err != nil {
		t.Fatal(err)
	}
	if st.Size() == 0 {
		return 0
	}
	return int((st.Size() - 32) / int64(24+size))
}

func truncateWAL(t *testing.T, s *Store) {
	t.Helper()
	var busy, log, done int
	if err := s.conn.QueryRowxContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint: %d %v", busy, err)
	}
}

// TestReceivePages counts the pages a group message's receive transaction writes to a
// file store's WAL (issue 16: each page is a 4 KiB frame written, checksummed, and later
// copied into the database; cold, each is memory touched): the group's clock and history,
// the message (its row, its id index, its group index), the replay marker and the
// receiver chain: six B-trees, one page each. A replay marker or a chain kept as a rowid
// table beside its primary-key index writes (and descends) two B-trees for one key.
func TestReceivePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pages.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, ep, inst := storage.GroupID{1}, [32]byte{2}, storage.InstallationID{3}
	receive := func(i int) func(tx storage.StoreTx) error {
		return func(tx storage.StoreTx) error {
			if err := tx.PutGroupClock(g, uint64(i), bytes.Repeat([]byte{byte(i)}, 64), t0); err != nil {
				return err
			}
			m := &storage.MessageRecord{ID: storage.MessageID{byte(i), byte(i >> 8), 1}, Group: g, SenderInstallation: inst, Timestamp: t0, Body: []byte("hello")}
			if ok, err := tx.PutMessage(m); err != nil || !ok {
				t.Fatalf("message %d: %v %v", i, ok, err)
			}
			if ok, err := tx.MarkSeenOnce([32]byte{byte(i), byte(i >> 8), 2}, t0); err != nil || !ok {
				t.Fatalf("marker %d: %v %v", i, ok, err)
			}
			state := bytes.Repeat([]byte{byte(i)}, 88)
			return tx.PutReceiverChain(&storage.EpochChainRecord{Group: g, Epoch: ep, Installation: inst, State: state})
		}
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		return tx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "c", Topic: "/t", JoinedAt: t0})
	})
	for i := 1; i <= 20; i++ {
		inTx(t, s, receive(i))
	}
	truncateWAL(t, s)
	inTx(t, s, receive(21))
	n := walFrames(t, s, path)
	if n > 6 {
		t.Errorf("a receive writes %d pages, want at most 6", n)
	}
}

// TestKeyedTablesWithoutRowid: the tables written per message (and the sync marks) keyed
// by their primary key alone are WITHOUT ROWID: one B-tree each.
func TestKeyedTablesWithoutRowid(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "rowid.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"seen", "sync_marks", "sync_points", "epoch_senders", "epoch_receivers", "epoch_skipped"} {
		var sqlText string
		if err := s.conn.GetContext(context.Background(), &sqlText, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(sqlText, "WITHOUT ROWID") {
			t.Errorf("%s has a rowid: %s", name, sqlText)
		}
		var n int
		if err := s.conn.GetContext(context.Background(), &n, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, name); err != nil || n != 0 {
			t.Errorf("%s has %d indexes (%v)", name, n, err)
		}
	}
}

// TestMigrationPages: a database written by schema 13 opens at the newest schema with its
// replay markers, sync marks, chains and skipped keys as they were, every key still
// unique, and the skipped keys still going with their chain.
func TestMigrationPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v13.db")
	db := dbAtSchema(t, path, 13)
	g, eid, inst, inst2 := storage.GroupID{4}, [32]byte{9}, storage.InstallationID{7}, storage.InstallationID{8}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO chat_groups (` + groupRowCols + `) VALUES (?, 'chat', ?, 1, '/t', 'n', '', '', NULL, NULL, NULL, 0, 0, 3, NULL, 0, 0, 0, NULL, 0, 0)`, []any{g[:], make([]byte, 32)}},
		{`INSERT INTO seen (hash, seen_at) VALUES (?, 11), (?, 12)`, []any{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}},
		{`INSERT INTO sync_marks (topic, last_sync) VALUES ('/a', ?), ('/b', 5)`, []any{t2i(t0)}},
		{`INSERT INTO epoch_senders (group_id, epoch, state, lease) VALUES (?, ?, x'0102', 256)`, []any{g[:], eid[:]}},
		{`INSERT INTO epoch_receivers (group_id, epoch, installation, state, skipped) VALUES (?, ?, ?, x'0304', 2), (?, ?, ?, x'05', 0)`,
			[]any{g[:], eid[:], inst[:], g[:], eid[:], inst2[:]}},
		{`INSERT INTO epoch_skipped (group_id, epoch, installation, iteration, key) VALUES (?, ?, ?, 3, ?), (?, ?, ?, 6, ?)`,
			[]any{g[:], eid[:], inst[:], bytes.Repeat([]byte{3}, 32), g[:], eid[:], inst[:], bytes.Repeat([]byte{6}, 32)}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	s := openMigrated(t, db, path)
	inTx(t, s, func(tx storage.StoreTx) error {
		for i, want := range []bool{false, true, true} {
			if ok, err := tx.Seen([32]byte(bytes.Repeat([]byte{byte(i)}, 32))); err != nil || ok != want {
				t.Fatalf("marker %d: %v %v", i, ok, err)
			}
		}
		if ok, err := tx.MarkSeenOnce([32]byte(bytes.Repeat([]byte{2}, 32)), t0); err != nil || ok {
			t.Fatalf("a migrated marker marked again: %v %v", ok, err)
		}
		if at, err := tx.LastSync("/a"); err != nil || !at.Equal(t0) {
			t.Fatalf("sync mark: %v %v", at, err)
		}
		if err := tx.SetLastSync("/b", t0); err != nil {
			return err
		}
		if at, err := tx.LastSync("/b"); err != nil || !at.Equal(t0) {
			t.Fatalf("sync mark replaced: %v %v", at, err)
		}
		if c, err := tx.SenderChain(g, eid); err != nil || !bytes.Equal(c.State, []byte{1, 2}) || c.Lease != 256 {
			t.Fatalf("sender chain: %+v %v", c, err)
		}
		if c, err := tx.ReceiverChain(g, eid, inst); err != nil || !bytes.Equal(c.State, []byte{3, 4}) || c.Skipped != 2 {
			t.Fatalf("receiver chain: %+v %v", c, err)
		}
		if k, err := tx.SkippedKey(g, eid, inst, 6); err != nil || k != [32]byte(bytes.Repeat([]byte{6}, 32)) {
			t.Fatalf("skipped key: %x %v", k, err)
		}
		if err := tx.PutReceiverChain(&storage.EpochChainRecord{Group: g, Epoch: eid, Installation: inst2, State: []byte{7}}); err != nil {
			return err
		}
		if cs, err := tx.ReceiverChains(g); err != nil || len(cs) != 2 || !bytes.Equal(cs[1].State, []byte{7}) {
			t.Fatalf("receiver chains: %+v %v", cs, err)
		}
		// The skipped keys still go with their chain.
		if err := tx.DeleteReceiverChains(g, inst); err != nil {
			return err
		}
		if its, err := tx.SkippedIterations(g); err != nil || len(its) != 0 {
			t.Fatalf("skipped keys of a deleted chain: %+v %v", its, err)
		}
		return nil
	})
	var fk []struct {
		Table  string `db:"table"`
		RowID  any    `db:"rowid"`
		Parent string `db:"parent"`
		FKID   int    `db:"fkid"`
	}
	if err := s.conn.SelectContext(context.Background(), &fk, `PRAGMA foreign_key_check`); err != nil || len(fk) != 0 {
		t.Fatalf("foreign key check: %+v %v", fk, err)
	}
	var ref int
	if err := s.conn.GetContext(context.Background(), &ref, `SELECT count(*) FROM pragma_foreign_key_list('epoch_skipped') WHERE "table" = 'epoch_receivers'`); err != nil || ref != 3 {
		t.Fatalf("epoch_skipped's key refers to epoch_receivers in %d columns (%v)", ref, err)
	}
}

// TestMigrationGapRefused: a database whose schema_version lacks a version below its
// highest (a migration added under a number a database had already passed) is refused
// at open instead of silently never running that migration (review 5).
func TestMigrationGapRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gap.db")
	db := dbAtSchema(t, path, 13)
	if _, err := db.Exec(`DELETE FROM schema_version WHERE version = 7`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("a database missing migration 7 opened")
	}
}
