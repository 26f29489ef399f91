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
	"fmt"
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
// it).
func Open(ctx context.Context, dataDir string, t protocol.Transport, opts ...protocol.Option) (*Client, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("chorus: data directory: %w", err)
	}
	store, err := persistence.Open(filepath.Join(dataDir, DatabaseFile))
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

// Close stops the client and closes its database. It is idempotent.
func (c *Client) Close() error {
	err := c.Client.Close()
	if serr := c.store.Close(); err == nil {
		err = serr
	}
	return err
}
