// Package waku is the Chorus transport over an embedded go-waku v0.10.3 node.
//
// A relay node (the default) subscribes once to its static shard and dispatches every
// message from one goroutine to the subscriptions by content topic, so go-waku's
// channels never back up; a light node (Config.Light) publishes through lightpush and
// receives through filter from its service peers. Store nodes (Config.Store) keep an
// archive in their own sqlite file and serve it over store v3 (served by this package,
// storev3.go) and legacy store v2 (go-waku's server); History pages through the
// configured store peers over store v3, falling back to legacy store for peers that do
// not speak v3. Publishes are paced by a token bucket that blocks the caller; a publish
// that cannot reach any peer fails with transport.ErrNoPeers. Semantics shared with
// transport/memory are documented in package transport.
//
// go-waku leaks 5 goroutines and ~4 MiB per node after Stop (an in-memory ENR database
// it never closes): create one node per process lifetime, not one per reconnect.
// Build with -tags gowaku_no_rln unless RLN is needed (Config.RLN, rln.go: RLN-v1 of
// go-waku v0.10.3, wired by hand; the tagged build has a stub failing with
// ErrRLNUnavailable).
package waku

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/waku-org/go-waku/waku/persistence"
	"github.com/waku-org/go-waku/waku/persistence/sqlite"
	"github.com/waku-org/go-waku/waku/v2/node"
	"github.com/waku-org/go-waku/waku/v2/peermanager"
	wps "github.com/waku-org/go-waku/waku/v2/peerstore"
	"github.com/waku-org/go-waku/waku/v2/protocol/filter"
	"github.com/waku-org/go-waku/waku/v2/protocol/legacy_store"
	"github.com/waku-org/go-waku/waku/v2/protocol/lightpush"
	"github.com/waku-org/go-waku/waku/v2/protocol/relay"
	"github.com/waku-org/go-waku/waku/v2/utils"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/internal/fanout"
)

// Node is an embedded Waku node implementing the Chorus transport. Its methods are
// safe for concurrent use.
type Node struct {
	cfg      *settings
	log      *slog.Logger
	w        *node.WakuNode
	hub      *fanout.Hub
	counters fanout.Counters
	limiter  *rate.Limiter
	filters  *filterManager // light nodes only
	drops    *dropTracer
	storeDB  *sql.DB        // the archive (store nodes)
	v3Pages  atomic.Int64   // store v3 requests sent to store peers
	v2Pages  atomic.Int64   // legacy store requests sent to store peers
	v3       *storeV3Server // store v3 server (store nodes unless StoreNoV3)
	rln      *rlnMember     // RLN membership (Config.RLN)

	// health receives go-waku's topic-health changes, drained until healthDone closes
	// (after go-waku's Stop). Without a channel, upstream go-waku v0.10.3 sends on a nil
	// channel and blocks its peer-event loop forever after the first health change.
	health     chan peermanager.TopicHealthStatus
	healthDone chan struct{}

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	ops    sync.WaitGroup // in-flight Publish/History/Dial
	wg     sync.WaitGroup // our goroutines

	mu         sync.Mutex
	closed     bool
	peers      []peerAddr // maintained connections (service peers on a light node)
	storePeers []peer.ID
	next       int // lightpush round robin
}

type peerAddr struct {
	id    peer.ID
	addrs []ma.Multiaddr // without /p2p
}

// full returns the addresses with /p2p/<id>, as go-waku's AddPeer wants them.
func (pa peerAddr) full() []ma.Multiaddr {
	p2p, err := ma.NewComponent("p2p", pa.id.String())
	if err != nil {
		panic(err) // a valid peer.ID always encodes
	}
	out := make([]ma.Multiaddr, 0, len(pa.addrs))
	for _, a := range pa.addrs {
		out = append(out, a.Encapsulate(p2p))
	}
	return out
}

// New starts a node. ctx bounds the start-up (including the first dial of the
// configured peers); the node runs until Close. A configured peer that cannot be
// reached is logged and redialed in the background, it does not fail New.
func New(ctx context.Context, cfg Config) (*Node, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: s, log: s.Logger}
	dropLog := rate.Sometimes{Interval: time.Second}
	n.drops = &dropTracer{onDrop: func(kind string, k int) {
		n.counters.AddLost(int64(k))
		dropLog.Do(func() {
			n.log.Warn("waku: libp2p-pubsub dropped messages (at most one warning per second; see Stats().Lost)",
				"what", kind, "lost_total", n.counters.Stats().Lost)
		})
	}}
	n.hub = fanout.NewHub(&n.counters, s.QueueSize, 0, func(topic string) {
		n.log.Warn("waku: subscription queue full, message dropped", "topic", topic)
	})
	lim := rate.Limit(s.PublishRate)
	if s.PublishRate < 0 {
		lim = rate.Inf
	}
	n.limiter = rate.NewLimiter(lim, s.PublishBurst)
	n.ctx, n.cancel = context.WithCancel(context.Background())

	warmUpGoWaku()
	zl := newZap(s.Logger)
	opts, closeDB, err := n.options(zl)
	if err != nil {
		n.cancel()
		return nil, err
	}
	w, err := node.New(opts...)
	if err != nil {
		closeDB()
		n.cancel()
		return nil, fmt.Errorf("waku: new node: %w", err)
	}
	n.wg.Add(1)
	go n.drainHealth()
	if err := w.Start(n.ctx); err != nil {
		abortStart(w)
		close(n.healthDone)
		n.wg.Wait()
		closeDB()
		n.cancel()
		return nil, fmt.Errorf("waku: start: %w", err)
	}
	n.w = w
	if s.RLN != nil {
		if err := n.startRLN(ctx, s.RLN, zl); err != nil {
			n.shutdown()
			return nil, err
		}
	}
	if n.storeDB != nil && !s.StoreNoV3 {
		v3, err := newStoreV3Server(ctx, n.storeDB)
		if err != nil {
			n.shutdown()
			return nil, err
		}
		n.v3 = v3
		w.Host().SetStreamHandler(storeV3ID, v3.handle)
	}

	if err := n.startReceiving(zl); err != nil {
		n.shutdown()
		return nil, err
	}
	if err := n.addPeers(ctx); err != nil {
		n.shutdown()
		return nil, err
	}
	n.wg.Add(1)
	go n.maintain()
	return n, nil
}

// options builds the go-waku options; closeDB releases the store database if the node
// never takes ownership of it.
func (n *Node) options(zl *zap.Logger) (opts []node.WakuNodeOption, closeDB func(), err error) {
	s := n.cfg
	closeDB = func() {}
	// TCP only (plus the websocket transport go-waku always adds), no NAT service or
	// hole punching, and a connection manager of our own: go-waku's default options
	// share one manager between all nodes of a process.
	p2p := []libp2p.Option{
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.UserAgent(node.UserAgent),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(mustConnMgr()),
	}
	if s.bandwidth != nil {
		p2p = append(p2p, libp2p.BandwidthReporter(s.bandwidth))
	}
	n.health, n.healthDone = make(chan peermanager.TopicHealthStatus, 16), make(chan struct{})
	opts = []node.WakuNodeOption{
		node.WithLogger(zl),
		node.WithTopicHealthStatusChannel(n.health),
		node.WithPrometheusRegisterer(prometheus.NewRegistry()),
		node.WithHostAddress(s.listen),
		node.WithClusterID(s.cluster),
		node.WithShards([]uint16{s.shard}),
		node.WithMaxConnectionsPerIP(s.MaxConnectionsPerIP),
		node.WithWakuStoreRateLimit(s.storeRate()),
		node.WithLibP2POptions(p2p...),
	}
	if s.PrivateKey != nil {
		opts = append(opts, node.WithPrivateKey(s.PrivateKey))
	}
	if s.Light {
		return opts, closeDB, nil
	}
	opts = append(opts, node.WithWakuRelayAndMinPeers(s.MinPeers,
		pubsub.WithRawTracer(n.drops),
		pubsub.WithValidateQueueSize(pubsubValidateQueue),
		pubsub.WithPeerOutboundQueueSize(pubsubOutboundQueue)))
	if s.Service {
		opts = append(opts,
			node.WithLightPush(lightpush.WithRateLimiter(serviceLightpushRate, serviceLightpushBurst)),
			node.WithWakuFilterFullNode(
				filter.WithFullNodeRateLimiter(serviceFilterRate, serviceFilterBurst),
				filter.WithMaxSubscribers(serviceFilterMaxSubs),
			))
	}
	if s.Store {
		db, err := sqlite.NewDB(s.StorePath, zl)
		if err != nil {
			return nil, nil, fmt.Errorf("waku: store database: %w", err)
		}
		closeDB = func() { _ = db.Close() }
		ms, err := persistence.NewDBStore(prometheus.NewRegistry(), zl,
			persistence.WithDB(db),
			persistence.WithMigrations(sqlite.Migrations),
			persistence.WithRetentionPolicy(s.StoreCapacity, s.StoreRetention))
		if err != nil {
			closeDB()
			return nil, nil, fmt.Errorf("waku: store database: %w", err)
		}
		opts = append(opts, node.WithWakuStore(), node.WithMessageProvider(ms))
		n.storeDB = db
	}
	return opts, closeDB, nil
}

// drainHealth discards topic-health changes (Chorus reads relay health from its own
// peer counts) until the node has stopped.
func (n *Node) drainHealth() {
	defer n.wg.Done()
	for {
		select {
		case <-n.health:
		case <-n.healthDone:
			return
		}
	}
}

// warmUpGoWaku fills go-waku's unsynchronised global cache of message loggers
// (utils.MessagesLogger) once, before any node exists: with all entries present the
// nodes only read it, which removes the data race between nodes of one process.
var warmUpGoWaku = sync.OnceFunc(func() {
	for _, p := range []string{"relay", "lightpush", "filter"} {
		utils.MessagesLogger(p)
	}
})

func mustConnMgr() *connmgr.BasicConnMgr {
	cm, err := connmgr.NewConnManager(200, 300, connmgr.WithGracePeriod(time.Minute))
	if err != nil { // only for invalid constant arguments
		panic(err)
	}
	return cm
}

// abortStart releases a node whose Start failed. go-waku's Stop panics when Start
// failed after the host was created (go-waku#1311), so the host is closed directly.
func abortStart(w *node.WakuNode) {
	func() {
		defer func() { _ = recover() }()
		w.Stop()
	}()
	if h := w.Host(); h != nil {
		_ = h.Close()
	}
}

// startReceiving subscribes a relay node to its shard, or sets up a light node's filter.
func (n *Node) startReceiving(zl *zap.Logger) error {
	if n.cfg.Light {
		fm, err := newFilterManager(n, zl)
		if err != nil {
			return err
		}
		n.filters = fm
		n.wg.Add(1)
		go fm.run()
		return nil
	}
	subs, err := n.w.Relay().Subscribe(n.ctx, protocolFilter(n.cfg.PubsubTopic), relay.WithCacheSize(relayBuffer))
	if err != nil {
		return fmt.Errorf("waku: relay subscribe: %w", err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		// Drain until go-waku closes the channel (on Stop), even after Close began:
		// a blocked channel would stall the whole relay.
		for env := range subs[0].Ch {
			n.deliver(env)
		}
	}()
	return nil
}

// addPeers registers and dials the configured peers.
func (n *Node) addPeers(ctx context.Context) error {
	for _, a := range n.cfg.StorePeers {
		pa, err := parsePeer(a)
		if err != nil {
			return err
		}
		if _, err := n.w.AddPeer(pa.full(), wps.Static, []string{n.cfg.PubsubTopic}, storeV3ID, legacy_store.StoreID_v20beta4); err != nil {
			return fmt.Errorf("waku: store peer %s: %w", a, err)
		}
		n.storePeers = append(n.storePeers, pa.id)
	}
	var wg sync.WaitGroup
	for _, a := range n.cfg.Peers {
		pa, err := parsePeer(a)
		if err != nil {
			return err
		}
		if err := n.register(pa); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.dial(ctx, pa); err != nil {
				n.log.Warn("waku: peer unreachable, will retry", "peer", pa.id.ShortString(), "err", err)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func parsePeer(s string) (peerAddr, error) {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return peerAddr{}, fmt.Errorf("%w: peer %q: %w", errConfig, s, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return peerAddr{}, fmt.Errorf("%w: peer %q (needs /p2p/<id>): %w", errConfig, s, err)
	}
	return peerAddr{id: info.ID, addrs: info.Addrs}, nil
}

// register adds pa to the peerstore with the protocols we need from it and to the set
// of maintained peers.
func (n *Node) register(pa peerAddr) error {
	protos := []libp2pproto.ID{relay.WakuRelayID_v200}
	if n.cfg.Light {
		protos = []libp2pproto.ID{lightpush.LightPushID_v20beta1, filter.FilterSubscribeID_v20beta1}
	}
	if _, err := n.w.AddPeer(pa.full(), wps.Static, []string{n.cfg.PubsubTopic}, protos...); err != nil {
		return fmt.Errorf("waku: add peer %s: %w", pa.id.ShortString(), err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.ContainsFunc(n.peers, func(p peerAddr) bool { return p.id == pa.id }) {
		n.peers = append(n.peers, pa)
	}
	return nil
}

func (n *Node) dial(ctx context.Context, pa peerAddr) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return n.w.DialPeerWithInfo(ctx, peer.AddrInfo{ID: pa.id, Addrs: pa.addrs})
}

// maintain redials maintained peers whose connection dropped (peer managers may also
// forget a peer after dial errors, so it is registered again first).
func (n *Node) maintain() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.redial)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		peers := slices.Clone(n.peers)
		n.mu.Unlock()
		for _, pa := range peers {
			if n.connected(pa.id) {
				continue
			}
			if err := n.register(pa); err != nil {
				n.log.Warn("waku: re-register peer", "peer", pa.id.ShortString(), "err", err)
			}
			if err := n.dial(n.ctx, pa); err != nil && n.ctx.Err() == nil {
				n.log.Debug("waku: redial failed", "peer", pa.id.ShortString(), "err", err)
			}
		}
	}
}

func (n *Node) connected(id peer.ID) bool {
	return n.w.Host().Network().Connectedness(id) == network.Connected
}

// Dial connects to the peer at addr (a multiaddr with /p2p/<id>) and keeps the
// connection up like a configured peer; on a light node the peer becomes a service peer.
func (n *Node) Dial(ctx context.Context, addr string) error {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	pa, err := parsePeer(addr)
	if err != nil {
		return err
	}
	if err := n.register(pa); err != nil {
		return err
	}
	if err := n.dial(ctx, pa); err != nil {
		return n.closedErr(fmt.Errorf("waku: dial %s: %w", pa.id.ShortString(), err))
	}
	if n.filters != nil {
		n.filters.poke()
	}
	return nil
}

// ListenAddrs returns the node's addresses as multiaddrs with /p2p/<id>, for Peers and
// Dial of other nodes.
func (n *Node) ListenAddrs() []string {
	var out []string
	for _, a := range n.w.ListenAddresses() {
		out = append(out, a.String())
	}
	return out
}

// PeerCount returns the number of relay peers on the shard (what a publish needs), or
// for a light node the number of connected service peers.
func (n *Node) PeerCount() int {
	if n.cfg.Light {
		return len(n.servicePeers(true))
	}
	return len(n.w.Relay().PubSub().ListPeers(n.cfg.PubsubTopic))
}

// servicePeers returns the maintained peers, the connected ones only if asked.
func (n *Node) servicePeers(connectedOnly bool) []peer.ID {
	n.mu.Lock()
	peers := slices.Clone(n.peers)
	n.mu.Unlock()
	var out []peer.ID
	for _, p := range peers {
		if !connectedOnly || n.connected(p.id) {
			out = append(out, p.id)
		}
	}
	return out
}

// StoreRequests returns how many store requests (pages) History and its relatives sent
// to store peers so far, over store v3 and over legacy store v2.
func (n *Node) StoreRequests() (v3, legacy int64) { return n.v3Pages.Load(), n.v2Pages.Load() }

// Stats returns the node's counters.
func (n *Node) Stats() transport.Stats { return n.counters.Stats() }

// RateLimit returns the RLN limit: one message per RLNEpoch, or 0 without RLN
// (transport.RateLimiter).
func (n *Node) RateLimit() (messages int, epoch time.Duration) {
	if n.rln == nil {
		return 0, RLNEpoch
	}
	return 1, RLNEpoch
}

// Quota returns the RLN quota of the epoch containing now: the epoch counter proofs are
// generated against (transport.RateLimiter). Without RLN, Limit and Remaining are 0.
func (n *Node) Quota(now time.Time) transport.Quota {
	if n.rln == nil {
		e, next := transport.EpochOf(now, RLNEpoch)
		return transport.Quota{Epoch: e, ResetAt: next}
	}
	return n.rln.quota(now)
}

// RLNStats returns the node's RLN counters (zero without RLN).
func (n *Node) RLNStats() RLNStats {
	if n.rln == nil {
		return RLNStats{}
	}
	return n.rln.stats()
}

// begin registers an operation; done must be called when it ends. The returned context
// is also cancelled by Close.
func (n *Node) begin(ctx context.Context) (context.Context, func(), error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, nil, transport.ErrClosed
	}
	n.ops.Add(1)
	n.mu.Unlock()
	if err := ctx.Err(); err != nil {
		n.ops.Done()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.ctx, cancel)
	return ctx, func() { stop(); cancel(); n.ops.Done() }, nil
}

// closedErr reports ErrClosed for an operation cut short by Close.
func (n *Node) closedErr(err error) error {
	if err != nil && n.ctx.Err() != nil {
		return transport.ErrClosed
	}
	return err
}

// Close stops the node: subscriptions are closed, in-flight calls return
// transport.ErrClosed, go-waku is stopped and every goroutine of ours has exited when
// Close returns. Idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	n.shutdown()
	return nil
}

func (n *Node) shutdown() {
	n.cancel() // also the parent of go-waku's own context
	n.ops.Wait()
	if n.filters != nil {
		n.filters.stop()
	}
	// go-waku's Stop closes its broadcaster's input while the relay's message handler
	// may still be sending on it (a data race, or a panic). The handler follows the
	// context just cancelled: let it finish first.
	waitTimeout(n.w.Relay().WaitGroup(), 2*time.Second)
	if n.v3 != nil {
		n.w.Host().RemoveStreamHandler(storeV3ID)
	}
	n.w.Stop() // closes the relay subscription, which ends the dispatcher
	close(n.healthDone)
	if n.rln != nil {
		n.rln.close()
	}
	n.wg.Wait()
	n.hub.Close()
}

// waitTimeout waits for wg, at most d.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// isNoPeers recognises go-waku's "no peers" failures, which it reports as plain strings.
func isNoPeers(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "not enough peers") || strings.Contains(s, "no suitable") ||
		errors.Is(err, filter.ErrNoPeersAvailable) || errors.Is(err, legacy_store.ErrNoPeersAvailable)
}
