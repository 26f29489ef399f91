// Package node runs a Chorus client on its data directory with an embedded go-waku
// node: the engine (protocol.Client on persistence), the Waku relay node, and optionally
// the control socket (rpc). `chorus node` and `chorus chat` keep one running; other
// commands open one briefly when no node runs.
package node

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/rpc"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/waku"
)

// Options configure Open.
type Options struct {
	Dir    app.Dir
	Listen string   // host:port ("" : config, else 127.0.0.1:0)
	Peers  []string // multiaddrs with /p2p/ID (nil: config)
	Store  bool     // serve Waku store
	// Offline opens the client without any network (local reads only).
	Offline bool
	// Ephemeral: a short-lived node for one command (random port, random node key,
	// no store serving).
	Ephemeral bool
	Logger    *slog.Logger // nil: discard
	// ClientOptions are passed to protocol.New.
	ClientOptions []protocol.Option
}

// Node is an open client.
type Node struct {
	Dir     app.Dir
	Config  app.Config
	Client  *protocol.Client
	Service *app.Service
	Waku    *waku.Node // nil when offline
	// LinkCode is set when the installation waits to be linked (chorus init --link).
	LinkCode string

	lock    *app.Lock
	chorus  *chorus.Client
	tracked *flushTracker // publishes of an ephemeral node
	log     *slog.Logger
	once    sync.Once
}

// ErrNoAccount means the directory was never initialised.
var ErrNoAccount = errors.New("no account")

// CheckPeer validates a --peer multiaddr.
func CheckPeer(s string) error {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return fmt.Errorf("bad peer address %q: %v", s, err)
	}
	if _, err := peer.AddrInfoFromP2pAddr(m); err != nil {
		return fmt.Errorf("bad peer address %q: it needs /p2p/<peer id> (%v)", s, err)
	}
	return nil
}

// Open locks the directory, opens the database and the client and, unless Offline,
// starts the Waku node. It does not run the client: see Run.
func Open(ctx context.Context, o Options) (*Node, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if !o.Dir.HasAccount() {
		return nil, fmt.Errorf("%w in %s: run `chorus init --data %s` first", ErrNoAccount, o.Dir, o.Dir)
	}
	if _, err := o.Dir.Ensure(); err != nil {
		return nil, err
	}
	lock, err := o.Dir.TryLock()
	if err != nil {
		return nil, err
	}
	n := &Node{Dir: o.Dir, lock: lock, log: o.Logger}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if n.Config, err = o.Dir.LoadConfig(); err != nil {
		return nil, err
	}
	names, err := o.Dir.LoadNames()
	if err != nil {
		return nil, err
	}
	var tr protocol.Transport = offline{}
	var netw app.Network
	if !o.Offline {
		w, err := n.startWaku(ctx, o)
		if err != nil {
			return nil, err
		}
		n.Waku = w
		tr = w
		if o.Ephemeral {
			n.tracked = &flushTracker{Transport: w}
			tr = n.tracked
		}
		netw = &network{w: w, peers: len(n.peers(o)) > 0}
	}
	copts := append([]protocol.Option{protocol.WithLogger(o.Logger)}, o.ClientOptions...)
	if n.chorus, err = chorus.Open(ctx, string(o.Dir), tr, copts...); err != nil {
		return nil, err
	}
	n.Client = n.chorus.Client
	if _, err := n.Client.Account(); err != nil {
		// An installation made by `chorus init --link` waits to be linked: LinkCode
		// returns its (stored) code again; a store with neither is not initialised.
		code, lerr := n.Client.LinkCode(ctx)
		if lerr != nil {
			return nil, fmt.Errorf("%w in %s: run `chorus init --data %s` first", ErrNoAccount, o.Dir, o.Dir)
		}
		n.LinkCode = code
	}
	n.Service = app.NewService(n.Client, o.Dir, names, n.Config, netw, !o.Ephemeral && !o.Offline)
	if n.LinkCode != "" {
		n.Service.SetLinkCode(n.LinkCode)
	}
	ok = true
	return n, nil
}

func (n *Node) peers(o Options) []string {
	if o.Peers != nil {
		return o.Peers
	}
	return n.Config.Peers
}

func (n *Node) startWaku(ctx context.Context, o Options) (*waku.Node, error) {
	cfg := waku.Config{Logger: o.Logger, Peers: n.peers(o)}
	if n.Config.RLNCredential != "" || n.Config.RLNGroup != "" {
		rln, err := n.rlnConfig()
		if err != nil {
			return nil, err
		}
		cfg.RLN = rln
	}
	for _, p := range cfg.Peers {
		if err := CheckPeer(p); err != nil {
			return nil, err
		}
	}
	switch {
	case o.Ephemeral:
		cfg.ListenAddr = "127.0.0.1:0"
	case o.Listen != "":
		cfg.ListenAddr = o.Listen
	case n.Config.Listen != "":
		cfg.ListenAddr = n.Config.Listen
	}
	if o.Store && !o.Ephemeral {
		cfg.Store, cfg.StorePath = true, n.Dir.WakuStorePath()
	} else {
		cfg.StorePeers = cfg.Peers
	}
	// A stable peer id only for a node others dial or query (it serves store, or listens
	// on an address configured for others to use): every other node takes a fresh
	// random peer id per process, so its store and first-hop peers cannot tie its
	// sessions together by peer id (PRIV1, spec ## sync "What observers learn").
	serves := o.Store || o.Listen != "" || n.Config.Listen != ""
	if !o.Ephemeral && serves {
		key, err := nodeKey(n.Dir)
		if err != nil {
			return nil, err
		}
		cfg.PrivateKey = key
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	w, err := waku.New(sctx, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("cannot listen on %s: address already in use", cfg.ListenAddr)
		}
		return nil, err
	}
	return w, nil
}

// rlnConfig reads the configured RLN credential and group; the tree and the epoch state
// live in the data directory (one counter per account directory, whichever process runs).
func (n *Node) rlnConfig() (*waku.RLNConfig, error) {
	if n.Config.RLNCredential == "" || n.Config.RLNGroup == "" {
		return nil, errors.New("RLN needs both --rln-credential and --rln-group")
	}
	cred, err := waku.ReadRLNCredential(n.Config.RLNCredential)
	if err != nil {
		return nil, err
	}
	group, err := waku.ReadRLNGroup(n.Config.RLNGroup)
	if err != nil {
		return nil, err
	}
	return &waku.RLNConfig{Credential: cred, Group: group, TreePath: n.Dir.RLNTreePath(), StatePath: n.Dir.RLNStatePath()}, nil
}

// nodeKey loads or creates the Waku node key (a libp2p identity, not an account key), so
// that the node keeps its peer id across restarts.
func nodeKey(d app.Dir) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(d.NodeKeyPath())
	if err == nil {
		return crypto.HexToECDSA(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.NodeKeyPath(), []byte(hex.EncodeToString(crypto.FromECDSA(k))+"\n"), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// Run runs the client (and the socket server if serve) until ctx ends.
func (n *Node) Run(ctx context.Context, serve bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	if serve {
		ln, err := rpc.Listen(n.Dir.Socket())
		if err != nil {
			return err
		}
		sv := &rpc.Server{S: n.Service, Log: n.log}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.Serve(ctx, ln); err != nil {
				errc <- fmt.Errorf("socket: %w", err)
				cancel()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := n.Client.Run(ctx); err != nil {
			errc <- err
			cancel()
		}
	}()
	<-ctx.Done()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Flush waits until what this (ephemeral) node published has left it: confirmed by a
// store peer's history, or after a grace period when no store answers. It returns how
// many publishes could not be confirmed.
func (n *Node) Flush(ctx context.Context) int {
	if n.tracked == nil {
		return 0
	}
	return n.tracked.flush(ctx, FlushWait)
}

// Close stops the client and the Waku node and releases the directory. Idempotent.
func (n *Node) Close() {
	n.once.Do(func() {
		if n.chorus != nil {
			n.chorus.Close() // the client, then its database
		}
		if n.Waku != nil {
			n.Waku.Close()
		}
		n.lock.Unlock()
	})
}

// network adapts the Waku node to app.Network.
type network struct {
	w     *waku.Node
	peers bool // peers are configured (worth waiting for)
}

// ReadyWait bounds how long a publish waits for a first peer.
const ReadyWait = 10 * time.Second

func (nw *network) Ready(ctx context.Context) error {
	if nw.w.PeerCount() > 0 {
		return nil
	}
	if !nw.peers {
		return app.Errorf(app.CodeNoPeers, "no peers reachable: this node has no peers (give it --peer MULTIADDR, or start another node with --peer to this one; a running `chorus node` accepts messages and sends them when a peer connects)")
	}
	ctx, cancel := context.WithTimeout(ctx, ReadyWait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for nw.w.PeerCount() == 0 {
		select {
		case <-ctx.Done():
			return app.Errorf(app.CodeNoPeers, "no peers reachable: none of the configured peers answered within %v (is a peer's node running? `chorus node` keeps what you send and publishes it when a peer connects)", ReadyWait)
		case <-t.C:
		}
	}
	return nil
}

func (nw *network) PeerCount() int  { return nw.w.PeerCount() }
func (nw *network) Addrs() []string { return nw.w.ListenAddrs() }

// offline is the transport of a client opened without network.
type offline struct{}

func (offline) Publish(context.Context, string, []byte) ([32]byte, error) {
	return [32]byte{}, transport.ErrNoPeers
}

func (offline) Subscribe(context.Context, []string) (<-chan transport.Envelope, error) {
	return nil, transport.ErrNoPeers
}

func (offline) History(context.Context, []string, time.Time, time.Time) ([]transport.Envelope, error) {
	return nil, transport.ErrNoHistory
}
