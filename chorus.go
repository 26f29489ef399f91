// Package chorus is the embedding entry point of Chorus, end-to-end encrypted group chat
// over Waku v2 with Sender Keys: one call opens a client on a data directory and a
// transport (transport/waku, or transport/memory in tests).
//
// Example (in this package's documentation) runs two clients over transport/memory; the
// examples/memory and examples/waku modules of the repository are complete programs, the
// Waku one with the go.mod lines an embedding module needs (README.md, "Embedding").
//
// The engine and its API live in package protocol, the sqlite store in persistence, the
// transports in transport/memory and transport/waku.
package chorus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
)

// DatabaseFile is the name of the sqlite database Open keeps in the data directory.
const DatabaseFile = "chorus.db"

// Client is the engine's client (protocol.Client) with the store Open created for it.
type Client struct {
	*protocol.Client
	store *persistence.Store
}

// Open opens (creating if needed) dataDir and its database and returns a client on t.
// If the database holds an account it is loaded; otherwise call CreateAccount or
// ImportAccount. Close the client to release the database; t stays open (its owner closes
// it). One client per data directory: Open fails with persistence.ErrLocked while another
// client (in this process or another) holds it open, and with persistence.ErrNewerSchema
// for a database a newer version of this module migrated.
func Open(ctx context.Context, dataDir string, t protocol.Transport, opts ...protocol.Option) (*Client, error) {
	dbPath, err := prepareDir(dataDir)
	if err != nil {
		return nil, err
	}
	store, err := persistence.Open(dbPath)
	if err != nil {
		return nil, err
	}
	c, err := protocol.New(ctx, store, t, opts...)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &Client{Client: c, store: store}, nil
}

// prepareDir creates dataDir owner-only or tightens an existing one to 0700, and makes
// sure the database and its -wal and -shm files are 0600 before sqlite opens them (sqlite
// creates -wal and -shm with the database file's mode). The keys in the database are
// stored unencrypted: these permissions are their only protection on disk.
func prepareDir(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("chorus: data directory: %w", err)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return "", fmt.Errorf("chorus: data directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("chorus: data directory: %s is not a directory", dataDir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dataDir, 0o700); err != nil {
			return "", fmt.Errorf("chorus: data directory: %w", err)
		}
	}
	dbPath := filepath.Join(dataDir, DatabaseFile)
	f, err := os.OpenFile(dbPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("chorus: database: %w", err)
	}
	f.Close()
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			err = os.Chmod(p, 0o600)
		}
		if err != nil {
			return "", fmt.Errorf("chorus: database: %w", err)
		}
	}
	return dbPath, nil
}

// Close stops the client and closes its database. It is idempotent.
func (c *Client) Close() error {
	err := c.Client.Close()
	if serr := c.store.Close(); err == nil {
		err = serr
	}
	return err
}
