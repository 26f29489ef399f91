package app

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// Network is what the Service needs from the Waku node it runs on.
type Network interface {
	// Ready returns nil once a publish can reach a peer; it fails with a CodeNoPeers
	// error when none is reachable before ctx ends.
	Ready(ctx context.Context) error
	// PeerCount is the number of relay peers now.
	PeerCount() int
	// Addrs are the node's multiaddrs (for other nodes' --peer).
	Addrs() []string
}

// Service runs the client operations of the chorus command on one protocol.Client.
// Its methods are safe for concurrent use.
type Service struct {
	c     *protocol.Client
	dir   Dir
	names *Names
	cfg   Config
	net   Network
	node  bool

	watchers atomic.Int32           // open Watch streams
	linkCode atomic.Pointer[string] // set while the installation waits to be linked

	namesMoved  atomic.Bool // names.json moved into the engine (names.go)
	namesMoveMu sync.Mutex
}

// NewService wraps c. net may be nil (no network: operations that publish fail with
// CodeNoPeers); node says whether it is served by a long-running node.
func NewService(c *protocol.Client, dir Dir, names *Names, cfg Config, net Network, node bool) *Service {
	if names == nil {
		names = &Names{m: map[string]string{}, added: map[string]time.Time{}}
	}
	return &Service{c: c, dir: dir, names: names, cfg: cfg, net: net, node: node}
}

// Client returns the engine client.
func (s *Service) Client() *protocol.Client { return s.c }

func (s *Service) account() (protocol.AccountInfo, error) {
	a, err := s.c.Account()
	if err != nil {
		if s.pendingLink() != "" {
			return a, Errorf(CodeNoAccount, "this device is waiting to be linked: on a device of your account run `chorus devices link CODE` with the code `chorus id` shows here")
		}
		return a, Classify(err)
	}
	return a, nil
}

// Status describes the client.
func (s *Service) Status(ctx context.Context) (StatusView, error) {
	a, err := s.account()
	if err != nil {
		if s.pendingLink() == "" {
			return StatusView{}, err
		}
		v := StatusView{Name: s.cfg.Name, Node: s.node, LinkCode: s.pendingLink(), Watchers: int(s.watchers.Load())}
		if s.net != nil {
			v.Peers, v.Addrs = s.net.PeerCount(), s.net.Addrs()
		}
		return v, nil
	}
	v := StatusView{Account: a.ID, Name: s.cfg.Name, Installation: a.Installation.String(), Node: s.node,
		Watchers: int(s.watchers.Load())}
	if q, ok := s.c.Quota(); ok {
		v.Quota = &QuotaView{Limit: q.Limit, EpochMillis: q.Period.Milliseconds(), Epoch: q.Epoch, Remaining: q.Remaining,
			ResetAt: q.ResetAt, Queued: q.Queued}
	}
	if s.net != nil {
		v.Peers = s.net.PeerCount()
		v.Addrs = s.net.Addrs()
	}
	gs, err := s.c.Groups(ctx)
	if err != nil {
		return v, err
	}
	for _, g := range gs {
		if g.Status == protocol.GroupActive {
			v.Groups++
		}
	}
	cs, err := s.c.Contacts(ctx)
	v.Contacts = len(cs)
	return v, err
}

// ID returns the account and its contact code.
func (s *Service) ID(ctx context.Context) (IDView, error) {
	a, err := s.account()
	if err != nil {
		if s.pendingLink() != "" {
			return IDView{Name: s.cfg.Name, LinkCode: s.pendingLink()}, nil
		}
		return IDView{}, err
	}
	code, err := s.c.ContactCode(ctx)
	if err != nil {
		return IDView{}, err
	}
	return IDView{Account: a.ID, Name: s.cfg.Name, Installation: a.Installation.String(), Code: code}, nil
}
