package persistence

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
)

// Writes and the transactions' own statements run on the driver's connection, not
// through database/sql (issue 16): a database/sql transaction starts a goroutine and a
// context per BEGIN (to roll back on cancellation, which WithTx never asks for), and
// every Stmt.Exec converts and checks its arguments through reflection-capable paths
// and takes two more locks. Here a statement is prepared once on the connection and
// run under Conn.Raw (which holds the connection as database/sql's own calls do), its
// arguments converted as database/sql converts them. Reads still go through sqlx
// (their scanning into structs). Both run on the one connection, inside the
// transaction it has open.

// rawExec runs query (prepared once) with args on the connection; count: it is one of
// the statements Statements counts.
func (s *Store) rawExec(query string, count bool, args []any) (driver.Result, error) {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	if s.rawFn == nil {
		s.rawFn = s.rawRun // bound once: Raw's callback without an allocation per call
	}
	c := &s.call
	c.query, c.count = query, count
	if count {
		s.args += uint64(len(args))
	}
	// The arguments are converted here, into the reused buffer, and args is not kept:
	// the caller's (variadic) list stays on its stack.
	for i, a := range args {
		v, err := driverValue(a)
		if err != nil {
			c.reset()
			return nil, err
		}
		c.nv = append(c.nv, driver.NamedValue{Ordinal: i + 1, Value: v})
		if count {
			switch v := v.(type) {
			case []byte:
				s.argBytes += uint64(len(v))
			case string:
				s.argBytes += uint64(len(v))
			}
		}
	}
	if err := s.use(); err != nil {
		c.reset()
		return nil, err
	}
	err := s.conn.Raw(s.rawFn)
	s.inUse.RUnlock()
	if err == nil {
		err = c.err
	}
	res := c.res
	c.reset()
	if err != nil {
		if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
			return nil, ErrClosed
		}
		return nil, unavailable(err)
	}
	return res, nil
}

// rawCall is the statement rawRun runs (Store.call, guarded by Store.rawMu).
type rawCall struct {
	query string
	count bool
	nv    []driver.NamedValue // the arguments, converted (the buffer reused)
	res   driver.Result
	err   error
}

// reset empties c for the next statement, keeping its buffer but no argument alive.
func (c *rawCall) reset() {
	clear(c.nv)
	*c = rawCall{nv: c.nv[:0]}
}

// rawRun is the callback of Conn.Raw for Store.call; its error (the statement's) is
// left in call.err, so that Raw sees none.
func (s *Store) rawRun(dc any) error {
	c := &s.call
	st, err := s.rawPrepared(dc, c.query, c.count)
	if err != nil {
		c.err = err
		return nil
	}
	ex, ok := st.(driver.StmtExecContext)
	if !ok {
		c.err = errors.New("persistence: driver statement cannot execute with a context")
		return nil
	}
	c.res, c.err = ex.ExecContext(context.Background(), c.nv)
	return nil
}

// rawPrepared returns the driver statement for query on dc, prepared once per store.
func (s *Store) rawPrepared(dc any, query string, count bool) (driver.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if count {
		s.run++
	}
	if st, ok := s.raw[query]; ok {
		return st, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, errors.New("persistence: driver connection cannot prepare with a context")
	}
	st, err := pc.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	if s.raw == nil {
		s.raw = map[string]driver.Stmt{}
	}
	s.raw[query] = st
	return st, nil
}

// driverValue converts an argument as database/sql does for a driver without its own
// conversion (driver.DefaultParameterConverter), the common types without reflection.
func driverValue(a any) (driver.Value, error) {
	switch v := a.(type) {
	case nil, int64, []byte, string, bool, float64:
		return v, nil
	case int:
		return int64(v), nil
	}
	return driver.DefaultParameterConverter.ConvertValue(a)
}

// begin, commit and rollback run a transaction on the connection (BEGIN IMMEDIATE: the
// write lock taken at once, as the DSN's _txlock asks of database/sql's transactions).
func (s *Store) begin() error { return s.execPrepared(`BEGIN IMMEDIATE`) }

// commit commits the open transaction; if COMMIT fails, the transaction is rolled back
// (sqlite may leave it open; the caller treats it as ended).
func (s *Store) commit() error {
	if err := s.execPrepared(`COMMIT`); err != nil {
		_ = s.rollback()
		return err
	}
	return nil
}

func (s *Store) rollback() error { return s.execPrepared(`ROLLBACK`) }
