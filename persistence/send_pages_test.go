package persistence

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestSendPages counts the pages a v2 group send's transaction and its publish mark
// (PublishedSole) write to a file store's WAL (issue 16), as TestReceivePages does for a
// receive. The send writes the group's clock and history, the message (its row, its id
// index, its group index), the outbox record (its row and its due index: a Sole record
// stays out of the index by message) and the sender chain: seven B-trees, one page each —
// no sqlite_sequence page (the store assigns outbox ids itself, never reusing one while
// the process may refer to it). The mark deletes the record (row and due index entry) and
// sets the message Published.
func TestSendPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "send.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, ep := storage.GroupID{1}, [32]byte{2}
	var rec *storage.OutboxRecord
	send := func(i int) func(tx storage.StoreTx) error {
		return func(tx storage.StoreTx) error {
			if err := tx.PutGroupClock(g, uint64(i), bytes.Repeat([]byte{byte(i)}, 64), t0); err != nil {
				return err
			}
			id := storage.MessageID{byte(i), byte(i >> 8), 1}
			m := &storage.MessageRecord{ID: id, Group: g, Outgoing: true, Timestamp: t0, Body: []byte("hello")}
			if ok, err := tx.PutMessage(m); err != nil || !ok {
				t.Fatalf("message %d: %v %v", i, ok, err)
			}
			rec = &storage.OutboxRecord{Message: id, HasMessage: true, Sole: true, Topic: "/t", Payload: bytes.Repeat([]byte{byte(i)}, 200),
				Status: storage.StatusUnpublished, NextAttempt: t0, CreatedAt: t0}
			if err := tx.PutOutbox(rec); err != nil {
				return err
			}
			return tx.PutSenderChain(&storage.EpochChainRecord{Group: g, Epoch: ep, State: bytes.Repeat([]byte{byte(i)}, 72), Lease: uint32(i)})
		}
	}
	mark := func(tx storage.StoreTx) error {
		if changed, err := tx.PublishedSole(rec); err != nil || !changed {
			t.Fatalf("mark: %v %v", changed, err)
		}
		return nil
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		return tx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "c", Topic: "/t", JoinedAt: t0})
	})
	for i := 1; i <= 20; i++ {
		inTx(t, s, send(i))
		inTx(t, s, mark)
	}
	truncateWAL(t, s)
	inTx(t, s, send(21))
	if n := walFrames(t, s, path); n > 7 {
		t.Errorf("a send writes %d pages, want at most 7", n)
	}
	truncateWAL(t, s)
	inTx(t, s, mark)
	if n := walFrames(t, s, path); n > 3 {
		t.Errorf("a publish mark writes %d pages, want at most 3", n)
	}
}

// TestOutboxIDsNotReused: an outbox id is never given to another record while the store
// is open, even when the record holding the highest id was deleted (a deferred publish
// mark or a claim may still name it: PublishedSole deletes by id), and ids keep the order
// records were stored in.
func TestOutboxIDsNotReused(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "ids.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func() *storage.OutboxRecord {
		o := &storage.OutboxRecord{Topic: "/t", Payload: []byte{1}, Status: storage.StatusUnpublished, NextAttempt: t0, CreatedAt: t0}
		inTx(t, s, func(tx storage.StoreTx) error { return tx.PutOutbox(o) })
		return o
	}
	seen := map[int64]bool{}
	last := int64(0)
	for i := 0; i < 5; i++ {
		o := put()
		if seen[o.ID] || o.ID <= last {
			t.Fatalf("record %d got id %d (after %d, seen %v)", i, o.ID, last, seen[o.ID])
		}
		seen[o.ID], last = true, o.ID
		inTx(t, s, func(tx storage.StoreTx) error { return tx.DeleteOutbox(o.ID) })
	}
	// A record stored in a transaction rolled back leaves a gap, never a reuse.
	var rolled int64
	if err := s.WithTx(context.Background(), func(tx storage.StoreTx) error {
		o := &storage.OutboxRecord{Topic: "/t", Payload: []byte{2}, Status: storage.StatusFailed, NextAttempt: t0, CreatedAt: t0}
		if err := tx.PutOutbox(o); err != nil {
			return err
		}
		rolled = o.ID
		return errors.New("roll back")
	}); err == nil {
		t.Fatal("rolled back transaction committed")
	}
	if o := put(); o.ID <= rolled || o.ID <= last {
		t.Fatalf("id %d after %d and rolled back %d", o.ID, last, rolled)
	}
}

// TestMigrationSendPages: a database at the schema before 0015_sendpages opens at the newest schema with its outbox
// records (ids, statuses, payloads) as they were, no AUTOINCREMENT left on the outbox,
// and new records numbered above the stored ones.
func TestMigrationSendPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v14.db")
	if names := migrationNames(t); len(names) < 15 || names[14] != "0015_sendpages.sql" {
		t.Fatalf("migration 15 is not 0015_sendpages.sql: %v", names)
	}
	db := dbAtSchema(t, path, 14) // numbered without a gap: the first 14 files
	msg := bytes.Repeat([]byte{5}, 32)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO outbox (id, message_id, topic, payload, status, attempts, next_attempt, created_at) VALUES (3, ?, '/a', x'0102', 0, 0, 7, 8), (9, NULL, '/b', x'03', 2, 5, 1, 2)`, []any{msg}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	s := openMigrated(t, db, path)
	var sqlText string
	if err := s.conn.GetContext(context.Background(), &sqlText, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'`); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(sqlText), "AUTOINCREMENT") {
		t.Errorf("outbox: %s", sqlText)
	}
	var idx int
	if err := s.conn.GetContext(context.Background(), &idx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND name IN ('outbox_due', 'outbox_message')`); err != nil || idx != 2 {
		t.Errorf("outbox indexes: %d %v", idx, err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		o, err := tx.Outbox(3)
		if err != nil || !o.HasMessage || !bytes.Equal(o.Message[:], msg) || o.Topic != "/a" || !bytes.Equal(o.Payload, []byte{1, 2}) || o.Status != storage.StatusUnpublished {
			t.Fatalf("record 3: %+v %v", o, err)
		}
		if o, err := tx.Outbox(9); err != nil || o.HasMessage || o.Attempts != 5 || o.Status != storage.StatusFailed {
			t.Fatalf("record 9: %+v %v", o, err)
		}
		if outs, err := tx.OutboxOf(storage.MessageID(msg)); err != nil || len(outs) != 1 || outs[0].ID != 3 {
			t.Fatalf("records of the message: %+v %v", outs, err)
		}
		n := &storage.OutboxRecord{Topic: "/c", Payload: []byte{4}, Status: storage.StatusUnpublished, NextAttempt: t0, CreatedAt: t0}
		if err := tx.PutOutbox(n); err != nil || n.ID != 10 {
			t.Fatalf("new record: %d %v", n.ID, err)
		}
		return nil
	})
}

// TestOutboxSole: a record queued Sole is stored so (Outbox and DueOutbox say it), keeps
// it when updated, and is not one of OutboxOf's, which finds the others through the
// partial index by message.
func TestOutboxSole(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "sole.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m1, m2 := storage.MessageID{1}, storage.MessageID{2}
	sole := &storage.OutboxRecord{Message: m1, HasMessage: true, Sole: true, Topic: "/t", Payload: []byte{1}, Status: storage.StatusUnpublished, NextAttempt: t0, CreatedAt: t0}
	other := &storage.OutboxRecord{Message: m2, HasMessage: true, Topic: "/t", Payload: []byte{2}, Status: storage.StatusUnpublished, NextAttempt: t0, CreatedAt: t0}
	failed := &storage.OutboxRecord{Message: m2, HasMessage: true, Topic: "/t", Payload: []byte{3}, Status: storage.StatusFailed, Attempts: 3, NextAttempt: t0, CreatedAt: t0}
	inTx(t, s, func(tx storage.StoreTx) error {
		for _, o := range []*storage.OutboxRecord{sole, other, failed} {
			if err := tx.PutOutbox(o); err != nil {
				return err
			}
		}
		sole.Attempts = 1
		return tx.PutOutbox(sole)
	})
	inTx(t, s, func(tx storage.StoreTx) error {
		if o, err := tx.Outbox(sole.ID); err != nil || !o.Sole || o.Attempts != 1 || o.Message != m1 {
			t.Fatalf("sole record: %+v %v", o, err)
		}
		if due, err := tx.DueOutbox(t0, 10); err != nil || len(due) != 2 || !due[0].Sole || due[1].Sole {
			t.Fatalf("due: %+v %v", due, err)
		}
		if outs, err := tx.OutboxOf(m1); err != nil || len(outs) != 0 {
			t.Fatalf("records of the sole record's message: %+v %v", outs, err)
		}
		if outs, err := tx.OutboxOf(m2); err != nil || len(outs) != 2 || outs[0].ID != other.ID || outs[1].ID != failed.ID || outs[1].Sole {
			t.Fatalf("records of the other message: %+v %v", outs, err)
		}
		return nil
	})
	var plan []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		NotUse int    `db:"notused"`
		Detail string `db:"detail"`
	}
	if err := s.conn.SelectContext(context.Background(), &plan, `EXPLAIN QUERY PLAN SELECT `+outboxCols+` FROM outbox WHERE message_id = ? AND sole = 0 ORDER BY id`, m2[:]); err != nil || len(plan) == 0 || !strings.Contains(plan[0].Detail, "outbox_message") {
		t.Fatalf("OutboxOf's plan: %+v %v", plan, err)
	}
}
