package persistence

import (
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"

	"github.com/chorus-im/chorus/protocol/storage"
)

// unavailable wraps err with storage.ErrUnavailable when sqlite failed by itself — the
// disk full or failing, the database busy, locked, read-only, corrupt or not a database,
// out of memory — and not because of the statement's data (a constraint, a type): the
// engine retries the input that met such an error rather than giving up on it.
func unavailable(err error) error {
	var se sqlite3.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrNomem,
		sqlite3.ErrReadonly, sqlite3.ErrCorrupt, sqlite3.ErrCantOpen, sqlite3.ErrProtocol,
		sqlite3.ErrNotADB:
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}
