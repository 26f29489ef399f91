// Package persistence stores the Chorus engine's state in sqlite (mattn/go-sqlite3 via
// sqlx): WAL journal, foreign keys on, a busy timeout, and embedded SQL migrations with a
// schema version. *Store implements storage.Store.
package persistence

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // sqlite driver

	"github.com/chorus-im/chorus/protocol/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a sqlite-backed storage.Store.
type Store struct {
	db     *sqlx.DB
	conn   *sqlx.Conn // the one connection every transaction and statement uses
	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt // prepared once on the (single) connection
	// inUse is held shared by every use of the connection and exclusively by Close
	// while it closes it: database/sql's Conn.Raw and a Conn's statements race with
	// Conn.Close (a use past its closed check can be handed a nil connection: a nil
	// dereference in Conn.Raw, found by TestReview10CloseDuringWrites under load).
	inUse     sync.RWMutex
	connGone  bool                   // Close took the connection (guarded by inUse)
	raw       map[string]driver.Stmt // the same for writes, run on the driver (rawExec)
	rawMu     sync.Mutex             // guards call and rawFn, taken before the connection
	call      rawCall
	rawFn     func(any) error
	run       uint64 // statements run through transactions (Statements)
	argBytes  uint64 // bytes of the blob and text arguments of writes (WriteArgBytes)
	args      uint64 // arguments bound to writes (WriteArgs)
	closeOnce sync.Once
	closeErr  error
	memory    bool     // a private in-memory database: nothing to sync
	lock      *os.File // the database's lock (Open), released at Close

	// txMu serialises transactions across goroutines: WithTx holds it for its
	// transaction, BeginBatch until EndBatch. A WithTx whose context carries the open
	// batch's token (the context BeginBatch returned) is a savepoint of that batch and
	// takes nothing; any other waits for the batch to end.
	txMu sync.Mutex
	// An open batch (BeginBatch; its outer transaction is open): its token, and
	// whether a transaction in it asked to be durable. Guarded by txMu (held by the
	// batch's owner while it is open).
	batchTok  *batchToken
	batchSync bool
	// unsynced: a commit may not be durable: a transaction that asked to be durable
	// committed but its sync failed (syncAfter), or the store opened on a WAL it could not
	// checkpoint. Every commit tries the sync again, and says storage.ErrNotDurable until
	// one succeeds. Guarded by txMu.
	unsynced bool

	freed      int64 // outbox payload bytes deleted since free pages were last released
	outboxNext int64 // the least outbox id not assigned since the store opened (outboxNewID)
}

var _ storage.BatchStore = (*Store)(nil)

// batchToken marks the contexts of one batch (batchKey's value); ended is set by its
// EndBatch, before txMu is released.
type batchToken struct {
	s     *Store
	ended atomic.Bool
}

type batchKey struct{}

// inBatch reports whether ctx carries the token of s's open batch. A token is never
// reused: the context of an ended batch (kept by a goroutine, or reused) is an ordinary
// context, whose WithTx waits for txMu like any other, never a savepoint of whatever
// transaction holds the connection then.
func (s *Store) inBatch(ctx context.Context) bool {
	tok, _ := ctx.Value(batchKey{}).(*batchToken)
	return tok != nil && tok.s == s && !tok.ended.Load()
}

// BeginBatch opens a batch: until EndBatch, each WithTx with the returned context (or
// one derived from it) runs as a savepoint of one outer transaction (its writes kept or
// undone as it returns) and nothing is committed before EndBatch. A WithTx with any
// other context, from any goroutine, waits for EndBatch. The caller must not act
// outside the process on what a transaction in the batch wrote before EndBatch, and
// must call EndBatch from the goroutine owning the batch.
func (s *Store) BeginBatch(ctx context.Context) (context.Context, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if s.inBatch(ctx) {
		return nil, errors.New("persistence: batch already open")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.txMu.Lock()
	if err := s.begin(); err != nil {
		s.txMu.Unlock()
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("persistence: begin batch: %w", err)
	}
	tok := &batchToken{s: s}
	s.batchTok, s.batchSync = tok, false
	return context.WithValue(ctx, batchKey{}, tok), nil
}

// EndBatch commits the batch (commit) or rolls it back, and lets other transactions
// run. A committed batch in which a transaction called SyncOnCommit is made durable
// before EndBatch returns.
func (s *Store) EndBatch(commit bool) error {
	if s.batchTok == nil { // the caller owns the batch it ends, and with it txMu
		return errors.New("persistence: no batch open")
	}
	durable := s.batchSync
	s.batchTok.ended.Store(true)
	s.batchTok, s.batchSync = nil, false
	defer s.txMu.Unlock()
	if !commit {
		if err := s.rollback(); err != nil {
			return fmt.Errorf("persistence: roll back batch: %w", err)
		}
		return nil
	}
	if err := s.commit(); err != nil {
		return fmt.Errorf("persistence: commit batch: %w", err)
	}
	if durable || s.unsynced {
		return s.syncAfter()
	}
	return nil
}

// withSavepoint runs fn as a savepoint of the open batch (its SAVEPOINT and RELEASE
// prepared once, as every statement, instead of parsed each time).
func (s *Store) withSavepoint(fn func(tx storage.StoreTx) error) (err error) {
	if err := s.execPrepared(`SAVEPOINT tx`); err != nil {
		return fmt.Errorf("persistence: savepoint: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// Undo fn's writes; the batch's earlier ones stay.
			_ = s.execPrepared(`ROLLBACK TO tx`)
			_ = s.execPrepared(`RELEASE tx`)
		}
	}()
	t := &tx{s: s}
	if err := fn(t); err != nil {
		return err
	}
	done = true
	if err := s.execPrepared(`RELEASE tx`); err != nil {
		return fmt.Errorf("persistence: release savepoint: %w", err)
	}
	if t.sync {
		s.batchSync = true
	}
	return nil
}

var _ storage.Store = (*Store)(nil)

// ErrClosed is returned by WithTx after Close.
var ErrClosed = errors.New("persistence: store closed")

// ErrLocked is returned by Open for a database another Store holds open (in this process
// or another): two engines on one database would each keep their own sending chains,
// leases and caches, and seal two messages under one message key (review 10,
// TestReview10OpenTwice).
var ErrLocked = errors.New("persistence: database in use by another client")

// ErrNewerSchema is returned by Open for a database a newer version of this module
// migrated past the newest schema this build knows (review 10,
// TestReview10NewerSchemaRefused): it is never read or written with an older schema.
var ErrNewerSchema = errors.New("persistence: database schema newer than this build")

// Open opens (creating if needed) the database at path and migrates it to the newest
// schema. path ":memory:" opens a private in-memory database (one connection). A file
// database is locked (path+"-lock", unix) until Close: opening it again while it is open
// fails with ErrLocked; one at a schema newer than this build's fails with ErrNewerSchema.
func Open(path string) (*Store, error) {
	var lock *os.File
	if path != ":memory:" {
		var err error
		if lock, err = lockFile(path); err != nil {
			return nil, err
		}
	}
	s, err := open(path)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func open(path string) (*Store, error) {
	var dsn string
	// _mutex=no: the connection has no mutex of its own (SQLITE_OPEN_NOMUTEX);
	// database/sql already serialises every call on it (its driverConn lock, held
	// around each driver call: statements, rows, Conn.Raw), and the store has one
	// connection.
	q := "_foreign_keys=on&_busy_timeout=10000&_txlock=immediate&_mutex=no"
	if path == ":memory:" {
		dsn = "file::memory:?" + q
	} else {
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() + "?_journal_mode=WAL&_synchronous=NORMAL&_secure_delete=on&_auto_vacuum=incremental&" + q
	}
	db, err := sqlx.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("persistence: open: %w", err)
	}
	// One connection: the engine serialises its transactions anyway, and a private
	// in-memory database only exists on its own connection.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, memory: path == ":memory:"}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	if s.conn, err = db.Connx(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("persistence: open: %w", err)
	}
	// The WAL may hold commits a previous run could not make durable (its sync failed, it
	// was killed before one): until they are synced, nothing of them may leave the process
	// (review 22, TestReview22UnsyncedForgottenByRestart: an unsynced sender lease forgotten
	// across a restart, its message then published and its iteration sealed again after a
	// power loss).
	if err := s.sync(); err != nil {
		s.unsynced = true
	}
	return s, nil
}

// SchemaVersion returns the schema version the database is at.
func (s *Store) SchemaVersion() (int, error) {
	var v int
	q := `SELECT COALESCE(MAX(version), 0) FROM schema_version`
	if s.conn != nil {
		if err := s.use(); err != nil {
			return 0, err
		}
		defer s.inUse.RUnlock()
		err := s.conn.GetContext(context.Background(), &v, q)
		return v, err
	}
	err := s.db.Get(&v, q)
	return v, err
}

func (s *Store) migrate() error {
	if _, err := s.db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return fmt.Errorf("persistence: migrate: %w", err)
	}
	cur, err := s.SchemaVersion()
	if err != nil {
		return fmt.Errorf("persistence: migrate: %w", err)
	}
	var applied int
	if err := s.db.Get(&applied, `SELECT COUNT(*) FROM schema_version WHERE version BETWEEN 1 AND ?`, cur); err != nil {
		return fmt.Errorf("persistence: migrate: %w", err)
	}
	if applied != cur { // versions run 1..cur: one below the newest was never applied here
		return fmt.Errorf("persistence: migrate: the database records %d of versions 1..%d", applied, cur)
	}
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("persistence: migrate: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if cur > len(names) {
		return fmt.Errorf("%w: version %d, this build's newest is %d", ErrNewerSchema, cur, len(names))
	}
	for i, name := range names {
		n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("persistence: migration %q: bad name", name)
		}
		if n != i+1 { // a gap would let a later migration be skipped by databases past it
			return fmt.Errorf("persistence: migration %q: want number %d", name, i+1)
		}
		if n <= cur {
			continue
		}
		body, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			return err
		}
		tx, err := s.db.Beginx()
		if err != nil {
			return fmt.Errorf("persistence: migrate: %w", err)
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("persistence: migration %s: %w", name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_version (version) VALUES (?)`, n); err != nil {
			tx.Rollback()
			return fmt.Errorf("persistence: migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("persistence: migration %s: %w", name, err)
		}
	}
	return nil
}

// WithTx runs fn in one sqlite transaction: committed if fn returns nil, rolled back
// otherwise (also when fn panics, the panic is re-raised after the rollback).
// Transactions from several goroutines run one at a time. With the context of an open
// batch (BeginBatch) it is a savepoint of the batch's transaction instead, committed
// (and made durable, if fn asked) by EndBatch.
func (s *Store) WithTx(ctx context.Context, fn func(tx storage.StoreTx) error) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.inBatch(ctx) {
		return s.withSavepoint(fn)
	}
	// A transaction is short and local, and once begun it runs to its commit or rollback:
	// the caller's context only decides whether it starts.
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if err := s.begin(); err != nil {
		if errors.Is(err, ErrClosed) {
			return err
		}
		return fmt.Errorf("persistence: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = s.rollback()
		}
	}()
	t := &tx{s: s}
	if err := fn(t); err != nil {
		return err
	}
	done = true
	if err := s.commit(); err != nil {
		return fmt.Errorf("persistence: commit: %w", err)
	}
	if t.sync || s.unsynced {
		return s.syncAfter()
	}
	return nil
}

// syncAfter syncs after the commit of a transaction or batch that asked to be durable,
// or of any while a commit may not be durable (unsynced). If the sync fails, the commit
// stands but is not durable: the error wraps storage.ErrNotDurable, and every later commit
// tries again and says so until one succeeds. The caller acts outside the process on what
// was committed only once a commit returns nil (a message sealed under a sender lease is
// published then: review 21, TestReview21SyncFailurePublishesUnsyncedLease); transactions
// go on meanwhile (review 22, TestReview22ReaderStallsEveryTransaction: failing them stalled
// the client for as long as another connection held a read open). txMu held.
func (s *Store) syncAfter() error {
	if err := s.sync(); err != nil {
		s.unsynced = true
		return fmt.Errorf("%w: %w", storage.ErrNotDurable, err)
	}
	s.unsynced = false
	return nil
}

// sync makes every committed transaction durable. In WAL mode with synchronous=NORMAL a
// commit is not synced; a checkpoint syncs the WAL before copying it into the database
// file and syncs the database file after. A private in-memory database has nothing to sync.
func (s *Store) sync() error {
	if s.memory {
		return nil
	}
	var busy, log, done int
	if err := s.use(); err != nil {
		return err
	}
	defer s.inUse.RUnlock()
	if err := s.conn.QueryRowxContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return fmt.Errorf("persistence: sync: %w", err)
	}
	if busy != 0 || log != done {
		return fmt.Errorf("persistence: sync: checkpoint incomplete (%d of %d frames)", done, log)
	}
	return nil
}

// releaseAfter is how many outbox payload bytes DeleteOutbox deletes before it releases
// free pages.
const releaseAfter = 1 << 20

// freePagesSlack is how many free pages a file may keep before releaseFreePages returns
// them to the file system (sqlite reuses free pages; a few are worth keeping).
const freePagesSlack = 256

// releaseFreePages truncates the database file by its free pages beyond freePagesSlack
// (auto_vacuum=incremental, set on every file this store creates; a no-op on older files
// and in memory). It runs inside t's transaction.
func (s *Store) releaseFreePages(t *tx) error {
	s.freed = 0
	if s.memory {
		return nil
	}
	var free int64
	if err := t.get(&free, `PRAGMA freelist_count`); err != nil {
		return err
	}
	if free <= freePagesSlack {
		return nil
	}
	// Every row of incremental_vacuum's answer must be stepped through for all pages to
	// be released.
	if err := s.use(); err != nil {
		return err
	}
	defer s.inUse.RUnlock()
	rows, err := s.conn.QueryContext(context.Background(), fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, free-freePagesSlack))
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// Close closes the database. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Every use of the connection in flight ends first; later ones get ErrClosed
		// before they reach a statement (closing the statements while a write held the
		// connection and waited for stmtMu deadlocked: review 10,
		// TestReview10CloseDuringWrites).
		s.inUse.Lock()
		s.connGone = true
		s.inUse.Unlock()
		s.stmtMu.Lock()
		stmts, raw := s.stmts, s.raw
		s.stmts, s.raw = nil, nil
		s.stmtMu.Unlock()
		for _, st := range stmts {
			st.Close()
		}
		if len(raw) > 0 && s.conn != nil {
			// Outside stmtMu: rawExec takes the connection, then stmtMu.
			_ = s.conn.Raw(func(any) error {
				for _, st := range raw {
					st.Close()
				}
				return nil
			})
		}
		if s.conn != nil {
			s.conn.Close()
		}
		s.closeErr = s.db.Close()
		if s.lock != nil {
			s.lock.Close() // after the database: no other Store on it before
		}
	})
	return s.closeErr
}

// Statements returns how many statements transactions have run on s since Open (not
// counting BEGIN, COMMIT and savepoints): what a path costs the store, for tests and
// benchmarks.
func (s *Store) Statements() uint64 {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	return s.run
}

// WriteArgBytes returns the bytes of the blob and text arguments bound to the writes
// transactions have run on s since Open: what a path hands sqlite to store (sqlite then
// rewrites whole records, so a large argument also costs its row's other columns), for
// tests and benchmarks.
func (s *Store) WriteArgBytes() uint64 {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	return s.argBytes
}

// WriteArgs returns how many arguments the writes transactions have run on s since Open
// have bound: each is one call into sqlite (go-sqlite3 binds them one by one), for tests
// and benchmarks.
func (s *Store) WriteArgs() uint64 {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	return s.args
}

// tx implements storage.StoreTx on one sqlite transaction (or a savepoint of the open
// batch), open on the store's connection.
type tx struct {
	s    *Store
	sync bool // SyncOnCommit was called
}

func (t *tx) SyncOnCommit() { t.sync = true }

// stmt returns the statement for query, prepared once per store and bound to the
// transaction (database/sql reuses the connection's prepared statement).
func (t *tx) stmt(query string) (*sqlx.Stmt, error) {
	return t.s.prepared(query, true)
}

// prepared returns the statement for query, prepared once per store; count: it is one
// of the statements Statements counts.
func (s *Store) prepared(query string, count bool) (*sqlx.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if count {
		s.run++
	}
	st, ok := s.stmts[query]
	if !ok {
		var err error
		if st, err = s.conn.PreparexContext(context.Background(), query); err != nil {
			return nil, err
		}
		if s.stmts == nil {
			s.stmts = map[string]*sqlx.Stmt{}
		}
		s.stmts[query] = st
	}
	// The statement runs on the store's single connection, inside the transaction that
	// connection has open.
	return st, nil
}

// execPrepared runs a statement of the transactions' bookkeeping (BEGIN, COMMIT,
// savepoints; not counted).
func (s *Store) execPrepared(query string) error {
	_, err := s.rawExec(query, false, nil)
	return err
}

func (t *tx) get(dest any, query string, args ...any) error {
	if err := t.s.use(); err != nil {
		return err
	}
	defer t.s.inUse.RUnlock()
	st, err := t.stmt(query)
	if err != nil {
		return unavailable(err)
	}
	return unavailable(st.Get(dest, args...))
}

func (t *tx) sel(dest any, query string, args ...any) error {
	if err := t.s.use(); err != nil {
		return err
	}
	defer t.s.inUse.RUnlock()
	st, err := t.stmt(query)
	if err != nil {
		return unavailable(err)
	}
	return unavailable(st.Select(dest, args...))
}

// use holds the connection against Close (inUse, shared; the caller releases it) or
// reports ErrClosed. Uses never nest: each holds it for one call on the connection.
func (s *Store) use() error {
	s.inUse.RLock()
	if s.connGone {
		s.inUse.RUnlock()
		return ErrClosed
	}
	return nil
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	return t.s.rawExec(query, true, args)
}

var _ storage.StoreTx = (*tx)(nil)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	return err
}
