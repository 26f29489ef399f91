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
	for _, name := range []string{"seen", "sync_marks", "epoch_senders", "epoch_receivers", "epoch_skipped"} {
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
