package waku

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// RLN (rate-limiting nullifiers, 17/WAKU2-RLN-RELAY) as go-waku v0.10.3 implements it:
// RLN-v1, one message per one-second epoch. The code that needs zerokit lives in rln.go
// (built without the gowaku_no_rln tag); rln_stub.go makes every RLN entry point fail
// with ErrRLNUnavailable in the tagged build.

// RLNEpoch is the RLN-v1 epoch of go-waku v0.10.3 (zerokit's EPOCH_UNIT_SECONDS); the
// limit is one message per epoch.
const RLNEpoch = time.Second

// ErrRLNUnavailable: the binary was built with -tags gowaku_no_rln (no zerokit).
var ErrRLNUnavailable = errors.New("waku: RLN not available in this build (built with -tags gowaku_no_rln; build without it)")

// RLNConfig makes a relay node an RLN member: every publish carries a proof for the
// current epoch (at most one per epoch, across restarts), and every message relayed or
// delivered must carry a valid proof from a member of the group.
type RLNConfig struct {
	// Credential is this node's RLN identity; its commitment must be in Group.
	Credential RLNCredential
	// Group is the membership (identity commitments, in tree order). Every node of the
	// network must use the same group.
	Group []RLNCommitment
	// TreePath is the directory for zerokit's Merkle tree database, one per node (go-waku's
	// default, ./rln_tree.db in the working directory, collides between nodes). The tree
	// is rebuilt from Group at start.
	TreePath string
	// StatePath is the file recording the last epoch this member generated a proof for.
	// It is written (and synced) before each proof, so a node restarted within an epoch
	// cannot signal twice in it. Required.
	StatePath string
	// OnSpam, if set, is called when a message from a member that exceeded its limit
	// (double signalling) is received and dropped.
	OnSpam func(contentTopic string)

	// now overrides the clock of the epochs (tests).
	now func() time.Time
}

// RLNCommitment is an RLN identity commitment (a member of the group).
type RLNCommitment [32]byte

// RLNCredential is an RLN identity (secret) and its commitment.
type RLNCredential struct {
	IDTrapdoor   [32]byte
	IDNullifier  [32]byte
	IDSecretHash [32]byte
	IDCommitment RLNCommitment
}

// RLNStats are a node's RLN counters.
type RLNStats struct {
	// Proofs is the number of proofs generated; ProofTime their total generation time.
	Proofs    int64
	ProofTime time.Duration
	// Spam counts received messages dropped as double signalling.
	Spam int64
	// SetupTime is how long the RLN instance (zerokit) took to set up.
	SetupTime time.Duration
}

func (c *RLNConfig) check() error {
	switch {
	case c.TreePath == "":
		return fmt.Errorf("%w: RLN needs TreePath (one directory per node)", errConfig)
	case c.StatePath == "":
		return fmt.Errorf("%w: RLN needs StatePath", errConfig)
	case len(c.Group) == 0:
		return fmt.Errorf("%w: RLN group is empty", errConfig)
	}
	if c.index() < 0 {
		return fmt.Errorf("%w: the RLN credential's commitment is not in the group", errConfig)
	}
	return nil
}

// index is the credential's position in the group, -1 if absent.
func (c *RLNConfig) index() int {
	for i, m := range c.Group {
		if m == c.Credential.IDCommitment {
			return i
		}
	}
	return -1
}

func (c *RLNConfig) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// rlnEpochs is the one counter of a member's quota: the last epoch it generated a proof
// for, kept in StatePath.
type rlnEpochs struct {
	path string
	mu   sync.Mutex
	last uint64 // 0: none
}

func loadRLNEpochs(path string) (*rlnEpochs, error) {
	e := &rlnEpochs{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return e, nil
	case err != nil:
		return nil, fmt.Errorf("waku: RLN state: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("waku: RLN state %s: %w", path, err)
	}
	e.last = v
	return e, nil
}

// quota returns the quota at now.
func (e *rlnEpochs) quota(now time.Time) transport.Quota {
	ep, next := transport.EpochOf(now, RLNEpoch)
	e.mu.Lock()
	defer e.mu.Unlock()
	q := transport.Quota{Epoch: ep, Limit: 1, Remaining: 1, ResetAt: next}
	if e.last >= ep {
		q.Remaining = 0
		if e.last > ep { // a clock that went back: wait for the epoch after the last used
			q.ResetAt = time.Unix(int64(e.last+1), 0)
		}
	}
	return q
}

// take consumes the epoch of now: it records it durably, or fails with
// transport.ErrRateLimited if it (or a later one) was used. Called with e.mu held.
func (e *rlnEpochs) take(now time.Time) (uint64, error) {
	ep, next := transport.EpochOf(now, RLNEpoch)
	if e.last >= ep {
		return 0, fmt.Errorf("waku: RLN epoch %d already used: %w (resets at %s)", ep, transport.ErrRateLimited, next.Format(time.RFC3339))
	}
	if err := writeFileSync(e.path, []byte(strconv.FormatUint(ep, 10)+"\n")); err != nil {
		return 0, fmt.Errorf("waku: RLN state: %w", err)
	}
	e.last = ep
	return ep, nil
}

// writeFileSync replaces path with b atomically and durably.
func writeFileSync(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// --- files: a credential and a group, for `chorus rln` and `chorus node`.

type credentialFile struct {
	IDTrapdoor   string `json:"id_trapdoor"`
	IDNullifier  string `json:"id_nullifier"`
	IDSecretHash string `json:"id_secret_hash"`
	IDCommitment string `json:"id_commitment"`
}

type groupFile struct {
	// Commitments are the members' identity commitments in tree order (hex).
	Commitments []string `json:"commitments"`
}

// MarshalJSON encodes the credential as hex fields.
func (c RLNCredential) MarshalJSON() ([]byte, error) {
	return json.Marshal(credentialFile{hex.EncodeToString(c.IDTrapdoor[:]), hex.EncodeToString(c.IDNullifier[:]),
		hex.EncodeToString(c.IDSecretHash[:]), hex.EncodeToString(c.IDCommitment[:])})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (c *RLNCredential) UnmarshalJSON(b []byte) error {
	var f credentialFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("waku: RLN credential: %w", err)
	}
	var out RLNCredential
	for _, x := range []struct {
		s   string
		dst *[32]byte
	}{{f.IDTrapdoor, &out.IDTrapdoor}, {f.IDNullifier, &out.IDNullifier}, {f.IDSecretHash, &out.IDSecretHash}, {f.IDCommitment, (*[32]byte)(&out.IDCommitment)}} {
		if err := decode32(x.s, x.dst); err != nil {
			return fmt.Errorf("waku: RLN credential: %w", err)
		}
	}
	*c = out
	return nil
}

func decode32(s string, dst *[32]byte) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b) != 32 {
		return fmt.Errorf("want 32 bytes, got %d", len(b))
	}
	copy(dst[:], b)
	return nil
}

// ReadRLNCredential reads a credential file.
func ReadRLNCredential(path string) (RLNCredential, error) {
	var c RLNCredential
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("waku: RLN credential: %w", err)
	}
	err = json.Unmarshal(b, &c)
	return c, err
}

// ParseRLNGroup decodes a group file.
func ParseRLNGroup(b []byte) ([]RLNCommitment, error) {
	var f groupFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("waku: RLN group: %w", err)
	}
	if len(f.Commitments) == 0 {
		return nil, fmt.Errorf("waku: RLN group: no commitments")
	}
	out := make([]RLNCommitment, len(f.Commitments))
	for i, s := range f.Commitments {
		if err := decode32(s, (*[32]byte)(&out[i])); err != nil {
			return nil, fmt.Errorf("waku: RLN group: commitment %d: %w", i, err)
		}
	}
	return out, nil
}

// ReadRLNGroup reads a group file.
func ReadRLNGroup(path string) ([]RLNCommitment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("waku: RLN group: %w", err)
	}
	return ParseRLNGroup(b)
}

// MarshalRLNGroup encodes a group file.
func MarshalRLNGroup(group []RLNCommitment) ([]byte, error) {
	f := groupFile{Commitments: make([]string, len(group))}
	for i, m := range group {
		f.Commitments[i] = hex.EncodeToString(m[:])
	}
	b, err := json.MarshalIndent(f, "", "  ")
	return append(b, '\n'), err
}
