package persistence

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestMigrationGroupKeys: a database written by schema 10 (the key schedule and its
// bookkeeping inside chat_groups) opens at the newest schema with both in group_keys,
// read as before, and the old columns gone.
func TestMigrationGroupKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v10.db")
	db := dbAtSchema(t, path, 10)
	sched, meta := bytes.Repeat([]byte{0x45}, 30000), []byte(`{"v":2}`)
	v2, v1 := storage.GroupID{4}, storage.GroupID{5}
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupCols+`) VALUES (?, 'chat', ?, 1, '/t', 'n', '', '', NULL, NULL, NULL, 0, 0, 3, NULL, 0, 0, 0, NULL, 0, 0, ?, ?)`,
		v2[:], make([]byte, 32), sched, meta); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupCols+`) VALUES (?, 'old', ?, 1, '/u', 'e', '', '', NULL, NULL, NULL, 0, 0, 5, NULL, 0, 1, 0, NULL, 0, 0, NULL, NULL)`,
		v1[:], make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	s := openMigrated(t, db, path)
	inTx(t, s, func(tx storage.StoreTx) error {
		for _, read := range []func(storage.GroupID) (*storage.GroupRecord, error){tx.Group, tx.GroupState} {
			g, err := read(v2)
			if err != nil || g.Clock != 3 || !bytes.Equal(g.Schedule, sched) || !bytes.Equal(g.EpochMeta, meta) {
				t.Fatalf("migrated v2 group: %v", err)
			}
			g, err = read(v1)
			if err != nil || g.Clock != 5 || g.Schedule != nil || g.EpochMeta != nil {
				t.Fatalf("migrated v1 group: %+v %v", g, err)
			}
		}
		all, err := tx.Groups()
		if err != nil || len(all) != 2 || !bytes.Equal(all[0].Schedule, sched) || all[1].Schedule != nil {
			t.Fatalf("migrated groups: %d %v", len(all), err)
		}
		var n int
		if err := s.conn.GetContext(context.Background(), &n, `SELECT count(*) FROM pragma_table_info('chat_groups') WHERE name IN ('schedule', 'epoch_meta')`); err != nil || n != 0 {
			t.Fatalf("chat_groups keeps %d key columns (%v)", n, err)
		}
		return nil
	})
}

// TestGroupStateWriteIndependentOfKeys: the pages sqlite writes (WAL frames) for a
// group's per-message update (PutGroupState) do not depend on the size of its key
// schedule (issue 16/13: it was in the same record, rewritten whole with its overflow
// pages by every update).
func TestGroupStateWriteIndependentOfKeys(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	small, large := storage.GroupID{1}, storage.GroupID{2}
	inTx(t, s, func(tx storage.StoreTx) error {
		for _, g := range []struct {
			id   storage.GroupID
			size int
		}{{small, 100}, {large, 40000}} {
			if err := tx.PutGroup(&storage.GroupRecord{ID: g.id, ChatID: "c", Topic: "/t", JoinedAt: t0,
				Schedule: bytes.Repeat([]byte{0x45}, g.size), EpochMeta: bytes.Repeat([]byte{'m'}, g.size/4)}); err != nil {
				return err
			}
		}
		return nil
	})
	frames := func(id storage.GroupID) int {
		t.Helper()
		var busy, log, done int
		if err := s.conn.QueryRowxContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil || busy != 0 {
			t.Fatalf("checkpoint: %v (busy %d)", err, busy)
		}
		inTx(t, s, func(tx storage.StoreTx) error {
			g, err := tx.GroupState(id)
			if err != nil {
				return err
			}
			g.Clock++
			g.History = append(g.History, bytes.Repeat([]byte{byte(g.Clock)}, 32)...)
			return tx.PutGroupState(g)
		})
		if err := s.conn.QueryRowxContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log
	}
	frames(small)
	frames(large) // warm: the first write after a checkpoint may also touch the header page
	fs, fl := frames(small), frames(large)
	t.Logf("WAL frames of a group state update: %d (100-byte schedule), %d (40000-byte)", fs, fl)
	if fl > fs {
		t.Errorf("a group state update writes %d pages with a 40000-byte schedule, %d with a 100-byte one", fl, fs)
	}
}
