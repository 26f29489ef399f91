package persistence

import (
	"bytes"
	"context"
	"crypto/rand"
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

// TestGroupKeysPad (issue 13): a store written before the pad column (schema 17, main's
// newest before it) opens with its keys read as before; a write pads a large row to a
// multiple of groupKeysPadQuantum (not a small one), and the next key event's keys, a few
// bytes longer or shorter and every byte different, are overwritten in place: the WAL
// gets the record's pages only, not the freed pages' zeroing, freelist and pointer-map
// pages of a record deleted and inserted again (as without the pad, measured below).
func TestGroupKeysPad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v17.db")
	db := dbAtSchema(t, path, len(migrationNames(t))-1)
	id := storage.GroupID{9}
	sched, meta := bytes.Repeat([]byte{0x45}, 1500), bytes.Repeat([]byte{0x46}, 17000)
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupRowCols+`) VALUES (?, 'chat', ?, 1, '/t', 'n', '', '', NULL, NULL, NULL, 0, 0, 3, NULL, 0, 0, 0, NULL, 0, 0)`,
		id[:], make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO group_keys (group_id, schedule, epoch_meta) VALUES (?, ?, ?)`, id[:], sched, meta); err != nil {
		t.Fatal(err)
	}
	s := openMigrated(t, db, path)
	read := func(wantSched, wantMeta []byte) {
		t.Helper()
		inTx(t, s, func(tx storage.StoreTx) error {
			for _, get := range []func(storage.GroupID) (*storage.GroupRecord, error){tx.Group, tx.GroupState} {
				g, err := get(id)
				if err != nil || g.Clock != 3 || !bytes.Equal(g.Schedule, wantSched) || !bytes.Equal(g.EpochMeta, wantMeta) {
					t.Fatalf("keys read back: %v", err)
				}
			}
			return nil
		})
	}
	read(sched, meta)
	pad := func() (n int, null bool) {
		t.Helper()
		var p []byte
		if err := s.conn.QueryRowxContext(context.Background(), `SELECT pad FROM group_keys WHERE group_id = ?`, id[:]).Scan(&p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, make([]byte, len(p))) {
			t.Fatal("pad holds something else than zeros")
		}
		return len(p), p == nil
	}
	if _, null := pad(); !null {
		t.Fatal("a row stored before the pad column has one")
	}
	put := func(sched, meta []byte) {
		t.Helper()
		inTx(t, s, func(tx storage.StoreTx) error { return tx.PutGroupKeys(id, sched, meta) })
		read(sched, meta)
	}
	for _, n := range []int{10, 1000, groupKeysPadFrom - 1500, groupKeysPadFrom - 1499, 17000, 17001, 17016, 18000} {
		m := bytes.Repeat([]byte{0x47}, n)
		put(sched, m)
		p, _ := pad()
		if want := groupKeysPad(len(sched) + n); p != want {
			t.Fatalf("%d bytes of keys: pad %d, want %d", len(sched)+n, p, want)
		}
		if len(sched)+n <= groupKeysPadFrom && p != 0 || len(sched)+n > groupKeysPadFrom && ((len(sched)+n+p)%groupKeysPadQuantum != 0 || p < groupKeysPadMin || p >= groupKeysPadMin+groupKeysPadQuantum) {
			t.Fatalf("%d bytes of keys: pad %d", len(sched)+n, p)
		}
	}
	// WAL frames of a key event's rewrite: 17000 then 17016 bytes of meta (same pad
	// bucket), every byte changed, with the pad and with the row written as before it.
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	frames := func(write func(meta []byte)) int {
		t.Helper()
		write(random(17000))
		var busy, log, done int
		if err := s.conn.QueryRowxContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil || busy != 0 {
			t.Fatalf("checkpoint: %v (busy %d)", err, busy)
		}
		write(random(17016))
		if err := s.conn.QueryRowxContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log
	}
	padded := frames(func(meta []byte) { put(sched, meta) })
	unpadded := frames(func(meta []byte) {
		inTx(t, s, func(st storage.StoreTx) error {
			_, err := st.(*tx).exec(`UPDATE group_keys SET schedule = ?, epoch_meta = ?, pad = NULL WHERE group_id = ?`, sched, meta, id[:])
			return err
		})
	})
	t.Logf("WAL frames of a 17 KB key rewrite 16 bytes longer: %d padded, %d as before the pad", padded, unpadded)
	if padded >= unpadded || padded > (len(sched)+17016)/4000+2 {
		t.Errorf("a padded key rewrite writes %d pages, %d without the pad", padded, unpadded)
	}
}

// BenchmarkPutGroupKeys: a 1000-member group's key event rewrite (1500 bytes of schedule,
// 16.6–17.1 KB of bookkeeping, its length changing from write to write, every byte
// new), one transaction each: padded (PutGroupKeys) and as before the pad column.
func BenchmarkPutGroupKeys(b *testing.B) {
	for _, mode := range []string{"padded", "unpadded"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "s.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			id := storage.GroupID{7}
			g := &storage.GroupRecord{ID: id, ChatID: "c", Topic: "/t", Status: 1}
			if err := s.WithTx(context.Background(), func(tx storage.StoreTx) error { return tx.PutGroup(g) }); err != nil {
				b.Fatal(err)
			}
			sched, meta := make([]byte, 1500), make([]byte, 17200)
			b.ResetTimer()
			for i := range b.N {
				n := 16600 + (i*37)%500
				rand.Read(meta[:n])
				err := s.WithTx(context.Background(), func(st storage.StoreTx) error {
					if mode == "unpadded" {
						_, err := st.(*tx).exec(`UPDATE group_keys SET schedule = ?, epoch_meta = ?, pad = NULL WHERE group_id = ?`, sched, meta[:n], id[:])
						return err
					}
					return st.PutGroupKeys(id, sched, meta[:n])
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
