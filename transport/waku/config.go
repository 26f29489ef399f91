package waku

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"golang.org/x/time/rate"

	"github.com/chorus-im/chorus/topics"
)

// Defaults and bounds.
const (
	// DefaultListenAddr: loopback only, random port.
	DefaultListenAddr = "127.0.0.1:0"
	// DefaultPublishRate is the publish pacing in messages per second (per node). It stays
	// below the ~4–6k msg/s at which libp2p-pubsub starts dropping silently.
	DefaultPublishRate = 3000
	// DefaultPublishBurst is the token-bucket burst of the pacing.
	DefaultPublishBurst = 100
	// DefaultStoreRetention and DefaultStoreCapacity bound a store node's database.
	DefaultStoreRetention = 30 * 24 * time.Hour
	DefaultStoreCapacity  = 1_000_000
	// DefaultFilterPeers is how many service peers a light node subscribes through.
	DefaultFilterPeers = 2
	// DefaultMaxConnectionsPerIP replaces go-waku's 5, which starves a hub whose
	// clients share an address (loopback, NAT).
	DefaultMaxConnectionsPerIP = 100
	// MaxHistory is the default HistoryLimit.
	MaxHistory = 100_000
	// DefaultStoreQueryRate is the default StoreQueryRate.
	DefaultStoreQueryRate = 20
	// DefaultStoreTimeout is the default StoreTimeout: 1000 full pages (HistoryLimit
	// messages) at StoreQueryRate take 50 s.
	DefaultStoreTimeout = 2 * time.Minute

	// Service limits, per requesting peer (go-waku's defaults are 1 request/s).
	serviceLightpushRate  = 1000
	serviceLightpushBurst = 1000
	serviceFilterRate     = 100
	serviceFilterBurst    = 200
	serviceFilterMaxSubs  = 10_000
	// A light node accepts this many filter pushes per second and service peer
	// (go-waku's default: 15/s, burst 20).
	lightPushAcceptRate  = 2000
	lightPushAcceptBurst = 4000

	relayBuffer         = 4096            // go-waku relay subscription channel
	pubsubValidateQueue = 1024            // libp2p-pubsub default 32
	pubsubOutboundQueue = 4096            // per peer; go-waku's default 1024
	redialInterval      = 5 * time.Second // peer maintenance and filter reconciliation
	dialTimeout         = 10 * time.Second
	requestTimeout      = 15 * time.Second // one lightpush / filter / store request
	storePageSize       = 100              // legacy store maximum
	storeMaxFilters     = 10               // content topics per store query (go-waku's v3 client allows 10)
	filterMaxTopics     = 100              // content topics per filter request
)

// Config configures a Node. The zero value is a relay node on 127.0.0.1, random port,
// cluster 16 shard 32, with no peers, no store and no logging.
type Config struct {
	// ListenAddr is the TCP host:port to listen on (default DefaultListenAddr).
	ListenAddr string
	// PrivateKey is the node's libp2p identity (secp256k1); nil generates one. It is
	// not the account or installation key and should not be.
	PrivateKey *ecdsa.PrivateKey
	// PubsubTopic is the static shard, /waku/2/rs/<cluster>/<shard>
	// (default topics.DefaultPubsubTopic).
	PubsubTopic string
	// Peers are multiaddrs (with /p2p/<id>) dialed at start and redialed when the
	// connection drops. For a light node they are the service peers.
	Peers []string
	// StorePeers are multiaddrs of store nodes queried by History, all at once, over
	// store v3 or, for a peer that does not speak it, legacy store v2. Empty: a node
	// with Store queries its own store; otherwise History fails with
	// transport.ErrNoHistory.
	StorePeers []string
	// StoreQueryRate limits the store requests (pages) sent to each store peer per
	// second (default DefaultStoreQueryRate; negative: unlimited). Public store nodes
	// answer 429 when asked too fast.
	StoreQueryRate float64
	// HistoryLimit bounds the messages one History query takes from one store (default
	// MaxHistory), counting every message the store sends, asked for or not; a query
	// also ends after HistoryLimit/25+5 pages. A store cut short is complete up to the
	// last message kept from it (transport.TruncatedError).
	HistoryLimit int
	// StoreTimeout is each store's deadline within one History (or HistoryHashes,
	// HistoryByHash) call (default DefaultStoreTimeout) — in History, each query's (at
	// most 10 content topics; a query set of 20 topics is two queries, one after the
	// other): the stores are asked at once, and one that has not finished by then is cut
	// short there.
	StoreTimeout time.Duration
	// MinPeers is the number of relay peers a publish needs (default 1): a relay
	// publish with fewer fails with transport.ErrNoPeers instead of going nowhere.
	MinPeers int

	// Light makes a light client: no relay; Publish goes through lightpush and
	// Subscribe through filter, both to the service peers in Peers.
	Light bool
	// FilterPeers is how many service peers a light node subscribes through at once
	// (default DefaultFilterPeers); copies are de-duplicated.
	FilterPeers int
	// Service serves lightpush and filter to light clients (relay nodes only).
	Service bool

	// Store serves store v3 (/vac/waku/store-query/3.0.0) and legacy store v2
	// (/vac/waku/store/2.0.0-beta4) from everything this relay node receives, kept in
	// a sqlite database at StorePath — a file of its own, never the application's
	// database (go-waku closes the handle on stop and creates generic table names).
	// StorePath ":memory:" keeps a volatile store.
	Store     bool
	StorePath string
	// StoreNoV3 serves legacy store only (as go-waku nodes do), e.g. to test the
	// fallback of History.
	StoreNoV3 bool
	// StoreRetention and StoreCapacity bound the store (defaults DefaultStoreRetention,
	// DefaultStoreCapacity); older messages are deleted every minute.
	StoreRetention time.Duration
	StoreCapacity  int

	// PublishRate paces Publish in messages per second (default DefaultPublishRate;
	// negative: unpaced). Publish blocks for a token, honouring its context.
	PublishRate float64
	// PublishBurst is the pacing burst (default DefaultPublishBurst).
	PublishBurst int
	// QueueSize is each subscription's queue (default transport.QueueSize).
	QueueSize int
	// MaxConnectionsPerIP limits inbound connections per remote IP
	// (default DefaultMaxConnectionsPerIP).
	MaxConnectionsPerIP int

	// RLN makes the node an RLN member (relay nodes only): publishes carry a proof, at
	// most one per epoch (Publish fails with transport.ErrRateLimited beyond it and the
	// node implements transport.RateLimiter), and messages without a valid proof are
	// neither relayed nor delivered. Needs a build without -tags gowaku_no_rln
	// (ErrRLNUnavailable otherwise).
	RLN *RLNConfig

	// Logger receives go-waku's and libp2p's errors (nothing below error level) and the
	// node's own warnings; nil discards them. go-waku routes libp2p logging
	// process-wide, so with several nodes libp2p's lines go to the last node's logger.
	Logger *slog.Logger

	// redial overrides redialInterval (tests).
	redial time.Duration
	// bandwidth counts the node's libp2p traffic per protocol (tests, measurements).
	bandwidth metrics.Reporter
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	listen         *net.TCPAddr
	cluster, shard uint16
}

var errConfig = errors.New("waku: invalid config")

// storeRate is the go-waku store client's per-peer request rate.
func (s *settings) storeRate() rate.Limit {
	if s.StoreQueryRate < 0 {
		return rate.Inf
	}
	return rate.Limit(s.StoreQueryRate)
}

func (c Config) settings() (*settings, error) {
	s := &settings{Config: c}
	if s.ListenAddr == "" {
		s.ListenAddr = DefaultListenAddr
	}
	addr, err := net.ResolveTCPAddr("tcp", s.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen address: %w", errConfig, err)
	}
	s.listen = addr
	if s.PubsubTopic == "" {
		s.PubsubTopic = topics.DefaultPubsubTopic
	}
	if s.cluster, s.shard, err = topics.ParsePubsubTopic(s.PubsubTopic); err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	switch {
	case s.Light && (s.Store || s.Service):
		return nil, fmt.Errorf("%w: a light node cannot serve store, lightpush or filter", errConfig)
	case s.Light && s.RLN != nil:
		return nil, fmt.Errorf("%w: RLN needs a relay node", errConfig)
	case s.Store && s.StorePath == "":
		return nil, fmt.Errorf("%w: Store needs StorePath (\":memory:\" for a volatile store)", errConfig)
	}
	if s.MinPeers <= 0 {
		s.MinPeers = 1
	}
	if s.FilterPeers <= 0 {
		s.FilterPeers = DefaultFilterPeers
	}
	if s.StoreRetention <= 0 {
		s.StoreRetention = DefaultStoreRetention
	}
	if s.StoreCapacity <= 0 {
		s.StoreCapacity = DefaultStoreCapacity
	}
	if s.PublishRate == 0 {
		s.PublishRate = DefaultPublishRate
	}
	if s.PublishBurst <= 0 {
		s.PublishBurst = DefaultPublishBurst
	}
	if s.MaxConnectionsPerIP <= 0 {
		s.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.StoreQueryRate == 0 {
		s.StoreQueryRate = DefaultStoreQueryRate
	}
	if s.HistoryLimit <= 0 {
		s.HistoryLimit = MaxHistory
	}
	if s.StoreTimeout <= 0 {
		s.StoreTimeout = DefaultStoreTimeout
	}
	if s.redial <= 0 {
		s.redial = redialInterval
	}
	return s, nil
}
