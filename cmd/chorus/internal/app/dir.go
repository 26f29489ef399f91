// Package app is the chat client behind the chorus command: a Service wrapping one
// protocol.Client with the operations the CLI, the socket daemon and the TUI share
// (name resolution, views, error classification), plus the data directory layout.
package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chorus-im/chorus"
)

// Dir is a client's data directory. Layout:
//
//	chorus.db        the engine's sqlite database (account, sessions, groups, messages)
//	chorus.sock      the running node's control socket (owner-only)
//	chorus.lock      held (flock) by the process that has the database open
//	config.json      network settings remembered from init/node (listen, peers, store)
//	names.json       local names (petnames) for accounts: never sent anywhere
//	node.key         the Waku node's libp2p key (stable peer id), not an account key
//	waku-store.db    the Waku store database when the node serves store (--store)
type Dir string

// DB returns the engine database path.
func (d Dir) DB() string { return filepath.Join(string(d), chorus.DatabaseFile) }

// Socket returns the control socket path.
func (d Dir) Socket() string { return filepath.Join(string(d), "chorus.sock") }

// ConfigPath returns the config file path.
func (d Dir) ConfigPath() string { return filepath.Join(string(d), "config.json") }

// NamesPath returns the petname file path.
func (d Dir) NamesPath() string { return filepath.Join(string(d), "names.json") }

// NodeKeyPath returns the Waku node key path.
func (d Dir) NodeKeyPath() string { return filepath.Join(string(d), "node.key") }

// RLNTreePath returns the directory of the node's RLN Merkle trees.
func (d Dir) RLNTreePath() string { return filepath.Join(string(d), "rln-tree") }

// RLNStatePath returns the file recording the last RLN epoch the node signalled in.
func (d Dir) RLNStatePath() string { return filepath.Join(string(d), "rln-epoch") }

// WakuStorePath returns the Waku store database path.
func (d Dir) WakuStorePath() string { return filepath.Join(string(d), "waku-store.db") }

func (d Dir) lockPath() string { return filepath.Join(string(d), "chorus.lock") }

// Ensure creates the directory with owner-only permissions, or tightens the permissions
// of an existing one. It reports whether it had to tighten them. It refuses a symbolic
// link (it does not follow one: the target could be anyone's) and a directory owned by
// another user.
func (d Dir) Ensure() (tightened bool, err error) {
	fi, err := os.Lstat(string(d))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(string(d), 0o700); err != nil {
			return false, err
		}
		fi, err = os.Lstat(string(d))
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return false, fmt.Errorf("%s is a symbolic link: give the directory's real path", d)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s is not a directory", d)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return false, fmt.Errorf("%s belongs to another user: refusing to keep keys there", d)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(string(d), 0o700); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// HasAccount reports whether the directory holds an engine database.
func (d Dir) HasAccount() bool {
	_, err := os.Stat(d.DB())
	return err == nil
}

// Lock is an exclusive advisory lock on the data directory.
type Lock struct{ f *os.File }

// ErrLocked means another process (a running node or chat) holds the data directory.
var ErrLocked = errors.New("app: data directory in use by another chorus process")

// TryLock takes the directory lock without waiting.
func (d Dir) TryLock() (*Lock, error) {
	f, err := os.OpenFile(d.lockPath(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}

// Config is the network configuration remembered in config.json.
type Config struct {
	// Name is how this account calls itself locally (transcripts, chat).
	Name string `json:"name,omitempty"`
	// Listen is the Waku listen address (host:port) of `chorus node`.
	Listen string `json:"listen,omitempty"`
	// Peers are Waku multiaddrs to dial (also used as store peers).
	Peers []string `json:"peers,omitempty"`
	// Store makes the node serve Waku store.
	Store bool `json:"store,omitempty"`
	// RLNCredential and RLNGroup are the RLN credential and group files of an
	// RLN-enabled node (chorus rln create; chorus node --rln-credential --rln-group).
	RLNCredential string `json:"rln_credential,omitempty"`
	RLNGroup      string `json:"rln_group,omitempty"`
}

// LoadConfig reads config.json (a missing file is an empty config).
func (d Dir) LoadConfig() (Config, error) {
	var c Config
	b, err := os.ReadFile(d.ConfigPath())
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", d.ConfigPath(), err)
	}
	return c, nil
}

// SaveConfig writes config.json.
func (d Dir) SaveConfig(c Config) error { return writeJSON(d.ConfigPath(), c) }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Names is names.json: when we added each contact with this data directory, and the
// contact names of earlier versions (names now live in the engine, shared with the
// account's other devices; see Service.moveNames).
type Names struct {
	mu    sync.Mutex
	path  string
	m     map[string]string
	added map[string]time.Time
}

// namesFile is names.json. Older versions wrote the bare name map.
type namesFile struct {
	Names map[string]string    `json:"names"`
	Added map[string]time.Time `json:"added,omitempty"`
}

// LoadNames reads names.json.
func (d Dir) LoadNames() (*Names, error) {
	n := &Names{path: d.NamesPath(), m: map[string]string{}, added: map[string]time.Time{}}
	b, err := os.ReadFile(n.path)
	if errors.Is(err, fs.ErrNotExist) {
		return n, nil
	}
	if err != nil {
		return nil, err
	}
	var f namesFile
	if err := json.Unmarshal(b, &f); err == nil && f.Names != nil {
		n.m = f.Names
		if f.Added != nil {
			n.added = f.Added
		}
		return n, nil
	}
	if err := json.Unmarshal(b, &n.m); err != nil {
		return nil, fmt.Errorf("%s: %w", n.path, err)
	}
	return n, nil
}

// Get returns the name of account ("" if none).
func (n *Names) Get(account string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[account]
}

// All returns a copy of every name.
func (n *Names) All() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]string, len(n.m))
	for k, v := range n.m {
		out[k] = v
	}
	return out
}

// AddedAt returns when account was added as a contact here (zero if unknown).
func (n *Names) AddedAt(account string) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.added[account]
}

// Lookup returns the accounts named name (case-insensitive).
func (n *Names) Lookup(name string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for a, nm := range n.m {
		if strings.EqualFold(nm, name) {
			out = append(out, a)
		}
	}
	return out
}

// Set names account and saves the book (an empty name removes it).
func (n *Names) Set(account, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name == "" {
		delete(n.m, account)
	} else {
		n.m[account] = name
	}
	return n.saveLocked()
}

// MarkAdded records that account was added as a contact at t, unless it already was.
func (n *Names) MarkAdded(account string, t time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.added == nil {
		n.added = map[string]time.Time{}
	}
	if _, ok := n.added[account]; ok {
		return nil
	}
	n.added[account] = t.UTC().Truncate(time.Second)
	return n.saveLocked()
}

func (n *Names) saveLocked() error {
	if n.path == "" {
		return nil
	}
	return writeJSON(n.path, namesFile{Names: n.m, Added: n.added})
}
