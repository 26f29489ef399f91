package floor

import (
	"context"
	"database/sql"
	"encoding/binary"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // sqlite driver, as persistence uses it
)

// RunStore runs the store floor: sqlite transactions of the shape the engine's hot paths
// make (package persistence: one connection, prepared statements, BEGIN IMMEDIATE),
// without the engine around them:
//
//   - StoreSend: the two transactions of a group send: read the group's hot state, store
//     the advanced sender state, insert the message and its outbox record; then mark
//     both published.
//   - StoreReceive: the one transaction of a group receive: replay check, group state and
//     receiver (by key id) reads, insert the message, store receiver and group state,
//     clear the expected entry and pending envelope, record the replay marker.
//   - StoreReceiveBatch: StoreReceive's statements, BatchSize messages per transaction
//     (the catch-up path, protocol.SyncBatch); ns/op is per message.
//
// Each runs on a private in-memory database (Mem: what the engine benchmarks and the
// scale simulation use) and on a file with the durability the store really uses (File:
// journal_mode=WAL, synchronous=NORMAL, secure_delete=on, and on the send side the
// durable lease: a PRAGMA wal_checkpoint(PASSIVE) every SenderLease sends, spec:
// persistence › Durability). The names without a suffix are the Mem ones.
//
// Engine targets count these instead of budgeting sqlite as signatures, so a ratio to the
// floor catches a regression in the engine's own work.
func RunStore(b *testing.B) {
	b.Run("StoreSend", func(b *testing.B) { benchStoreSend(b, "") })
	b.Run("StoreReceive", func(b *testing.B) { benchStoreReceive(b, "", 1) })
	b.Run("StoreReceiveBatch", func(b *testing.B) { benchStoreReceive(b, "", BatchSize) })
	b.Run("StoreSendFile", func(b *testing.B) { benchStoreSend(b, b.TempDir()) })
	b.Run("StoreReceiveFile", func(b *testing.B) { benchStoreReceive(b, b.TempDir(), 1) })
	b.Run("StoreReceiveBatchFile", func(b *testing.B) { benchStoreReceive(b, b.TempDir(), BatchSize) })
}

// BatchSize is the number of inbound envelopes per transaction of the batched floor; it
// matches the engine's catch-up batch (protocol.SyncBatch).
const BatchSize = 64

// SenderLease is the number of sends per durable checkpoint (protocol.SenderLease).
const SenderLease = 256

const storeSchema = `
CREATE TABLE groups (id BLOB PRIMARY KEY, sender BLOB, clock INTEGER NOT NULL, history BLOB, lease INTEGER NOT NULL DEFAULT 0);
CREATE TABLE receivers (grp BLOB NOT NULL, inst BLOB NOT NULL, state BLOB NOT NULL, PRIMARY KEY (grp, inst));
CREATE TABLE receiver_keys (grp BLOB NOT NULL, key BLOB NOT NULL, inst BLOB NOT NULL, PRIMARY KEY (grp, key));
CREATE TABLE messages (id BLOB PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, grp BLOB NOT NULL, body BLOB, status INTEGER NOT NULL);
CREATE TABLE outbox (id INTEGER PRIMARY KEY, msg BLOB, payload BLOB NOT NULL, status INTEGER NOT NULL);
CREATE TABLE seen (hash BLOB PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE expected (grp BLOB NOT NULL, entry BLOB NOT NULL, PRIMARY KEY (grp, entry));
CREATE TABLE pending (hash BLOB PRIMARY KEY, payload BLOB NOT NULL);
`

// storeDB is a prepared database with one group, one receiver and its key.
type storeDB struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	file  bool
}

// openStore opens an in-memory database (dir == "") or a file in dir with persistence's
// pragmas.
func openStore(b *testing.B, dir string) *storeDB {
	q := "_foreign_keys=on&_busy_timeout=10000&_txlock=immediate"
	dsn := "file::memory:?" + q
	if dir != "" {
		dsn = "file:" + filepath.Join(dir, "floor.db") + "?_journal_mode=WAL&_synchronous=NORMAL&_secure_delete=on&_auto_vacuum=incremental&" + q
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, storeSchema); err != nil {
		b.Fatal(err)
	}
	grp, inst, key := fixed(32, 20), fixed(16, 21), fixed(8, 22)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO groups (id, sender, clock, history) VALUES (?, ?, 0, ?)`, []any{grp, fixed(200, 23), fixed(160, 24)}},
		{`INSERT INTO receivers (grp, inst, state) VALUES (?, ?, ?)`, []any{grp, inst, fixed(300, 25)}},
		{`INSERT INTO receiver_keys (grp, key, inst) VALUES (?, ?, ?)`, []any{grp, key, inst}},
	} {
		if _, err := conn.ExecContext(ctx, q.sql, q.args...); err != nil {
			b.Fatal(err)
		}
	}
	return &storeDB{conn: conn, stmts: map[string]*sql.Stmt{}, file: dir != ""}
}

// checkpoint makes every commit durable, as persistence's SyncOnCommit does.
func (s *storeDB) checkpoint(b *testing.B) {
	if !s.file {
		return
	}
	var busy, log, done int
	if err := s.conn.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		b.Fatal(err)
	}
	if busy != 0 || log != done {
		b.Fatalf("checkpoint incomplete (%d of %d frames)", done, log)
	}
}

func (s *storeDB) stmt(b *testing.B, q string) *sql.Stmt {
	st, ok := s.stmts[q]
	if !ok {
		var err error
		if st, err = s.conn.PrepareContext(context.Background(), q); err != nil {
			b.Fatal(err)
		}
		s.stmts[q] = st
	}
	return st
}

// tx runs fn in one transaction; fn's statements run through exec and row.
func (s *storeDB) tx(b *testing.B, fn func(tx *sql.Tx)) {
	tx, err := s.conn.BeginTx(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	fn(tx)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func (s *storeDB) exec(b *testing.B, tx *sql.Tx, q string, args ...any) {
	if _, err := tx.Stmt(s.stmt(b, q)).Exec(args...); err != nil {
		b.Fatal(err)
	}
}

func (s *storeDB) scan(b *testing.B, tx *sql.Tx, q string, args []any, dest ...any) {
	if err := tx.Stmt(s.stmt(b, q)).QueryRow(args...).Scan(dest...); err != nil && err != sql.ErrNoRows {
		b.Fatal(err)
	}
}

func benchStoreSend(b *testing.B, dir string) {
	s := openStore(b, dir)
	grp, body, payload := fixed(32, 20), fixed(100, 26), fixed(400, 27)
	var id [32]byte
	var seq int64
	b.ReportAllocs()
	for b.Loop() {
		seq++
		binary.BigEndian.PutUint64(id[:], uint64(seq))
		var sender, history []byte
		var clock, lease int64
		s.tx(b, func(tx *sql.Tx) {
			s.scan(b, tx, `SELECT sender, clock, history, lease FROM groups WHERE id = ?`, []any{grp}, &sender, &clock, &history, &lease)
			s.exec(b, tx, `UPDATE groups SET sender = ?, clock = ?, history = ?, lease = ? WHERE id = ?`, sender, clock+1, history, lease, grp)
			s.exec(b, tx, `INSERT INTO messages (id, seq, grp, body, status) VALUES (?, ?, ?, ?, 0)`, id[:], seq, grp, body)
			s.exec(b, tx, `INSERT INTO outbox (msg, payload, status) VALUES (?, ?, 0)`, id[:], payload)
		})
		if seq%SenderLease == 1 {
			s.checkpoint(b) // the send that takes a new lease syncs before publishing
		}
		s.tx(b, func(tx *sql.Tx) {
			s.exec(b, tx, `UPDATE outbox SET status = 1 WHERE id = ?`, seq)
			s.exec(b, tx, `UPDATE messages SET status = 1 WHERE id = ?`, id[:])
		})
	}
}

// benchStoreReceive stores one received message per iteration, in transactions of batch
// messages (the last one may be shorter).
func benchStoreReceive(b *testing.B, dir string, batch int) {
	s := openStore(b, dir)
	grp, inst, key, body := fixed(32, 20), fixed(16, 21), fixed(8, 22), fixed(100, 26)
	var id, hash [32]byte
	var seq int64
	var tx *sql.Tx
	commit := func() {
		if tx != nil {
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			tx = nil
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if tx == nil {
			var err error
			if tx, err = s.conn.BeginTx(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
		}
		seq++
		binary.BigEndian.PutUint64(id[:], uint64(seq))
		binary.BigEndian.PutUint64(hash[:], ^uint64(seq))
		var n int
		s.scan(b, tx, `SELECT COUNT(*) FROM seen WHERE hash = ?`, []any{hash[:]}, &n)
		var sender, history []byte
		var clock, lease int64
		s.scan(b, tx, `SELECT sender, clock, history, lease FROM groups WHERE id = ?`, []any{grp}, &sender, &clock, &history, &lease)
		var rinst, state []byte
		s.scan(b, tx, `SELECT r.inst, r.state FROM receiver_keys k JOIN receivers r ON r.grp = k.grp AND r.inst = k.inst
			WHERE k.grp = ? AND k.key = ?`, []any{grp, key}, &rinst, &state)
		s.exec(b, tx, `INSERT INTO messages (id, seq, grp, body, status) VALUES (?, ?, ?, ?, 2)`, id[:], seq, grp, body)
		s.exec(b, tx, `UPDATE receivers SET state = ? WHERE grp = ? AND inst = ?`, state, grp, inst)
		s.exec(b, tx, `DELETE FROM expected WHERE grp = ? AND entry = ?`, grp, id[:])
		s.exec(b, tx, `UPDATE groups SET sender = ?, clock = ?, history = ?, lease = ? WHERE id = ?`, sender, clock+1, history, lease, grp)
		s.exec(b, tx, `DELETE FROM pending WHERE hash = ?`, hash[:])
		s.exec(b, tx, `INSERT INTO seen (hash, at) VALUES (?, ?)`, hash[:], seq)
		if seq%int64(batch) == 0 {
			commit()
		}
	}
	commit()
}
