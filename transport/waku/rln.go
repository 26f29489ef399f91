//go:build !gowaku_no_rln

package waku

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/waku-org/go-waku/waku/v2/protocol/pb"
	wrln "github.com/waku-org/go-waku/waku/v2/protocol/rln"
	"github.com/waku-org/go-waku/waku/v2/protocol/rln/group_manager"
	"github.com/waku-org/go-waku/waku/v2/protocol/rln/group_manager/static"
	"github.com/waku-org/go-waku/waku/v2/timesource"
	zrln "github.com/waku-org/go-zerokit-rln/rln"
	"go.uber.org/zap"

	"github.com/chorus-im/chorus/transport"
)

// RLNAvailable reports whether this build links zerokit (built without gowaku_no_rln).
const RLNAvailable = true

// rlnMember is a node's RLN membership: go-waku's RLN relay wired by hand
// (node.WithStaticRLNRelay fails in v0.10.x: it compares the tree root with the
// byte-reversed constant, "root mismatch").
type rlnMember struct {
	cfg    *RLNConfig
	relay  *wrln.WakuRLNRelay
	epochs *rlnEpochs
	tree   string // this instance's tree directory (removed at close)

	proofs    atomic.Int64
	proofTime atomic.Int64
	spam      atomic.Int64
	setup     time.Duration
}

// zerokitMu serialises zerokit set-ups: they redirect the process's standard output
// (zerokit prints its resource path there) and look for the pmtree-* directories they
// leave in the temporary directory.
var zerokitMu sync.Mutex

// newRLNInstance creates a zerokit instance with its tree under dir, keeping zerokit's
// output off standard output and removing the temporary directories it leaves.
func newRLNInstance(dir string) (*zrln.RLN, *group_manager.MerkleRootTracker, error) {
	zerokitMu.Lock()
	defer zerokitMu.Unlock()
	tmp := os.TempDir()
	before := pmtreeDirs(tmp)
	restore := muteStdout()
	inst, tracker, err := wrln.GetRLNInstanceAndRootTracker(dir)
	restore()
	for d := range pmtreeDirs(tmp) {
		if !before[d] {
			_ = os.RemoveAll(filepath.Join(tmp, d))
		}
	}
	return inst, tracker, err
}

func pmtreeDirs(dir string) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "pmtree-") {
			out[e.Name()] = true
		}
	}
	return out
}

// muteStdout points file descriptor 1 at /dev/null until the returned function runs.
func muteStdout() func() {
	_ = os.Stdout.Sync()
	saved, err := syscall.Dup(1)
	if err != nil {
		return func() {}
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		syscall.Close(saved)
		return func() {}
	}
	_ = syscall.Dup2(int(null.Fd()), 1)
	null.Close()
	return func() {
		_ = syscall.Dup2(saved, 1)
		syscall.Close(saved)
	}
}

// startRLN wires go-waku's RLN relay into the started node n: a static group manager
// over cfg.Group, the proof validator on every relayed message, and the epoch counter.
func (n *Node) startRLN(ctx context.Context, cfg *RLNConfig, zl *zap.Logger) error {
	if err := cfg.check(); err != nil {
		return err
	}
	epochs, err := loadRLNEpochs(cfg.StatePath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := os.MkdirAll(cfg.TreePath, 0o700); err != nil {
		return fmt.Errorf("waku: RLN tree: %w", err)
	}
	// zerokit's tree database cannot be opened twice in a process and is rebuilt from the
	// group at start: each instance gets a fresh directory under TreePath.
	tree, err := os.MkdirTemp(cfg.TreePath, "tree-")
	if err != nil {
		return fmt.Errorf("waku: RLN tree: %w", err)
	}
	inst, tracker, err := newRLNInstance(tree)
	if err != nil {
		_ = os.RemoveAll(tree)
		return fmt.Errorf("waku: RLN instance: %w", err)
	}
	group := make([]zrln.IDCommitment, len(cfg.Group))
	for i, m := range cfg.Group {
		group[i] = zrln.IDCommitment(m)
	}
	cred := zrln.IdentityCredential{IDTrapdoor: cfg.Credential.IDTrapdoor, IDNullifier: cfg.Credential.IDNullifier,
		IDSecretHash: cfg.Credential.IDSecretHash, IDCommitment: zrln.IDCommitment(cfg.Credential.IDCommitment)}
	gm, err := static.NewStaticGroupManager(group, cred, zrln.MembershipIndex(cfg.index()), inst, tracker, zl)
	if err != nil {
		_ = os.RemoveAll(tree)
		return fmt.Errorf("waku: RLN group: %w", err)
	}
	r := wrln.New(group_manager.Details{GroupManager: gm, RootTracker: tracker, RLN: inst},
		timesource.NewDefaultClock(), prometheus.NewRegistry(), zl)
	if err := r.Start(ctx); err != nil {
		_ = os.RemoveAll(tree)
		return fmt.Errorf("waku: RLN start: %w", err)
	}
	m := &rlnMember{cfg: cfg, relay: r, epochs: epochs, tree: tree, setup: time.Since(t0)}
	n.w.Relay().RegisterDefaultValidator(r.Validator(func(msg *pb.WakuMessage, _ string) error {
		m.spam.Add(1)
		n.log.Warn("waku: RLN spam dropped (a member signalled twice in an epoch)", "content_topic", msg.ContentTopic)
		if cfg.OnSpam != nil {
			cfg.OnSpam(msg.ContentTopic)
		}
		return nil
	}))
	n.rln = m
	return nil
}

// prove attaches a proof for the current epoch to msg, after recording the epoch as used.
// It fails with transport.ErrRateLimited if this member already signalled in it.
func (m *rlnMember) prove(msg *pb.WakuMessage) error {
	m.epochs.mu.Lock()
	defer m.epochs.mu.Unlock()
	now := m.cfg.clock()
	if _, err := m.epochs.take(now); err != nil {
		return err
	}
	t0 := time.Now()
	if err := m.relay.AppendRLNProof(msg, now); err != nil {
		return fmt.Errorf("waku: RLN proof: %w", err)
	}
	m.proofs.Add(1)
	m.proofTime.Add(int64(time.Since(t0)))
	return nil
}

// check fails with transport.ErrRateLimited if the current epoch is used (no side effect).
func (m *rlnMember) check() error {
	if q := m.epochs.quota(m.cfg.clock()); q.Remaining == 0 {
		return fmt.Errorf("waku: RLN epoch %d already used: %w (resets at %s)", q.Epoch, transport.ErrRateLimited, q.ResetAt.Format(time.RFC3339))
	}
	return nil
}

func (m *rlnMember) stats() RLNStats {
	return RLNStats{Proofs: m.proofs.Load(), ProofTime: time.Duration(m.proofTime.Load()), Spam: m.spam.Load(), SetupTime: m.setup}
}

func (m *rlnMember) quota(now time.Time) transport.Quota { return m.epochs.quota(now) }

func (m *rlnMember) close() {
	_ = m.relay.Stop()
	_ = os.RemoveAll(m.tree)
}

// NewRLNCredential creates a fresh RLN identity.
func NewRLNCredential() (RLNCredential, error) {
	dir, err := os.MkdirTemp("", "chorus-rln-")
	if err != nil {
		return RLNCredential{}, err
	}
	defer os.RemoveAll(dir)
	inst, _, err := newRLNInstance(filepath.Join(dir, "tree"))
	if err != nil {
		return RLNCredential{}, fmt.Errorf("waku: RLN instance: %w", err)
	}
	return newCredential(inst)
}

// NewRLNCredentials creates n fresh RLN identities with one zerokit instance.
func NewRLNCredentials(n int) ([]RLNCredential, error) {
	dir, err := os.MkdirTemp("", "chorus-rln-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	inst, _, err := newRLNInstance(filepath.Join(dir, "tree"))
	if err != nil {
		return nil, fmt.Errorf("waku: RLN instance: %w", err)
	}
	out := make([]RLNCredential, 0, n)
	for range n {
		c, err := newCredential(inst)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func newCredential(inst *zrln.RLN) (RLNCredential, error) {
	c, err := inst.MembershipKeyGen()
	if err != nil {
		return RLNCredential{}, fmt.Errorf("waku: RLN key generation: %w", err)
	}
	return RLNCredential{IDTrapdoor: c.IDTrapdoor, IDNullifier: c.IDNullifier, IDSecretHash: c.IDSecretHash,
		IDCommitment: RLNCommitment(c.IDCommitment)}, nil
}
