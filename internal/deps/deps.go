//go:build chorusdeps

// Package deps pins module dependencies before the packages that use them exist.
package deps

import (
	_ "github.com/ethereum/go-ethereum/crypto"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/waku-org/go-waku/waku/persistence/sqlite"
	_ "github.com/waku-org/go-waku/waku/v2/node"
	_ "golang.org/x/crypto/chacha20poly1305"
	_ "golang.org/x/crypto/cryptobyte"
	_ "google.golang.org/protobuf/proto"
)
