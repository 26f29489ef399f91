package persistence

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestMigrationMessagesLean: a database written by schema 12 opens at the newest schema
// with its messages as they were (ids, seq, every column read), found by history entry
// and paged by seq as before; a new message takes the next seq; the table has no
// history_entry, no AUTOINCREMENT and no foreign key left (what every insert paid for).
func TestMigrationMessagesLean(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v12.db")
	db := dbAtSchema(t, path, 12)
	gid, inst := storage.GroupID{4}, storage.InstallationID{9}
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupRowCols+`) VALUES (?, 'chat', ?, 1, '/t', 'n', '', '', NULL, NULL, NULL, 0, 0, 3, NULL, 0, 0, 0, NULL, 0, 0)`,
		gid[:], make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	for i, seq := range []int64{3, 7, 8} {
		id := storage.MessageID{byte(i + 1)}
		entry := append(inst[:], id[:16]...)
		if _, err := db.Exec(`INSERT INTO messages (seq, id, group_id, history_entry, sender_account, sender_installation, clock, timestamp, received_at, outgoing, status, type, body)
			VALUES (?, ?, ?, ?, 'acct', ?, ?, ?, ?, ?, ?, 1, ?)`, seq, id[:], gid[:], entry, inst[:], i+10, t2i(t0), t2i(t0)+int64(i), i == 2, 2-i, []byte("body"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	s := openMigrated(t, db, path)
	inTx(t, s, func(tx storage.StoreTx) error {
		ms, err := tx.Messages(gid, storage.MessageFilter{})
		if err != nil || len(ms) != 3 {
			t.Fatalf("migrated messages: %d %v", len(ms), err)
		}
		for j, want := range []int64{8, 7, 3} {
			i := 2 - j
			m := ms[j]
			if m.Seq != want || m.ID != (storage.MessageID{byte(i + 1)}) || m.Group != gid || m.SenderAccount != "acct" ||
				m.SenderInstallation != inst || m.Clock != uint64(i+10) || !m.Timestamp.Equal(t0) ||
				m.ReceivedAt.UnixNano() != t0.UnixNano()+int64(i) || m.Outgoing != (i == 2) || m.Status != storage.DeliveryStatus(2-i) ||
				m.Type != 1 || string(m.Body) != "body"+string(rune('a'+i)) {
				t.Fatalf("migrated message %d: %+v", i, m)
			}
		}
		var entry [32]byte
		copy(entry[:16], inst[:])
		entry[16] = 2
		if ok, err := tx.HasHistoryEntry(gid, entry); err != nil || !ok {
			t.Fatalf("history entry of a migrated message: %v %v", ok, err)
		}
		m := &storage.MessageRecord{ID: storage.MessageID{9}, Group: gid, SenderInstallation: inst, Timestamp: t0, Body: []byte("new")}
		if ok, err := tx.PutMessage(m); err != nil || !ok || m.Seq != 9 {
			t.Fatalf("new message: seq %d %v %v", m.Seq, ok, err)
		}
		page, err := tx.Messages(gid, storage.MessageFilter{Limit: 2, Before: 8})
		if err != nil || len(page) != 2 || page[0].Seq != 7 || page[1].Seq != 3 {
			t.Fatalf("paging by seq: %+v %v", page, err)
		}
		return nil
	})
	var sqlText string
	if err := s.conn.GetContext(context.Background(), &sqlText, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'`); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"history_entry", "AUTOINCREMENT", "REFERENCES"} {
		if strings.Contains(sqlText, gone) {
			t.Errorf("messages still has %s: %s", gone, sqlText)
		}
	}
	var n int
	if err := s.conn.GetContext(context.Background(), &n, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'messages_group' AND tbl_name = 'messages'`); err != nil || n != 1 {
		t.Fatalf("messages_group index: %d %v", n, err)
	}
}
