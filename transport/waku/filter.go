package waku

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/waku-org/go-waku/waku/v2/onlinechecker"
	"github.com/waku-org/go-waku/waku/v2/protocol/filter"
	"github.com/waku-org/go-waku/waku/v2/protocol/subscription"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// filterManager keeps a light node's filter subscriptions in line with the topics its
// subscriptions want, through up to FilterPeers service peers. It runs its own filter
// client (go-waku's built-in one accepts only 15 pushes/s per service peer), re-
// subscribes when a service peer stops answering pings, and drains every go-waku
// subscription channel into the hub.
type filterManager struct {
	n      *Node
	wf     *filter.WakuFilterLightNode
	wake   chan struct{}
	notify *network.NotifyBundle

	mu   sync.Mutex // serialises reconcile
	subs map[peer.ID]map[string]*subscription.SubscriptionDetails
}

func newFilterManager(n *Node, zl *zap.Logger) (*filterManager, error) {
	wf := filter.NewWakuFilterLightNode(nil, n.w.PeerManager(), n.w.Timesource(),
		onlinechecker.NewDefaultOnlineChecker(true), prometheus.NewRegistry(), zl,
		filter.WithLightNodeRateLimiter(rate.Limit(lightPushAcceptRate), lightPushAcceptBurst))
	wf.SetHost(n.w.Host())
	if err := wf.Start(n.ctx); err != nil {
		return nil, fmt.Errorf("waku: filter client: %w", err)
	}
	fm := &filterManager{
		n:    n,
		wf:   wf,
		wake: make(chan struct{}, 1),
		subs: make(map[peer.ID]map[string]*subscription.SubscriptionDetails),
	}
	// Reconcile as soon as a connection drops or comes up.
	fm.notify = &network.NotifyBundle{
		ConnectedF:    func(network.Network, network.Conn) { fm.poke() },
		DisconnectedF: func(network.Network, network.Conn) { fm.poke() },
	}
	n.w.Host().Network().Notify(fm.notify)
	return fm, nil
}

// poke asks for a reconciliation soon.
func (fm *filterManager) poke() {
	select {
	case fm.wake <- struct{}{}:
	default:
	}
}

// run reconciles when the wanted topics change, when a subscription fails, and
// periodically (to retry peers that were unreachable).
func (fm *filterManager) run() {
	defer fm.n.wg.Done()
	t := time.NewTicker(fm.n.cfg.redial)
	defer t.Stop()
	for {
		select {
		case <-fm.n.ctx.Done():
			return
		case <-fm.n.hub.Changed():
		case <-fm.wake:
		case <-t.C:
		}
		fm.reconcile(fm.n.ctx)
	}
}

// reconcile drops filter subscriptions nobody wants and subscribes the wanted topics
// with up to FilterPeers service peers (those already serving us first). It returns how
// many peers cover every wanted topic.
func (fm *filterManager) reconcile(ctx context.Context) int {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	want := fm.n.hub.Topics()
	pt := fm.n.cfg.PubsubTopic

	for p, byTopic := range fm.subs {
		if !fm.n.connected(p) {
			// The service peer went away: its subscriptions are dead. go-waku would
			// notice only at its next ping (a minute); resubscribe elsewhere now.
			for _, d := range byTopic {
				_ = d.Close()
			}
			delete(fm.subs, p)
			continue
		}
		var drop []string
		for t, d := range byTopic {
			if isClosed(d) || !slices.Contains(want, t) {
				drop = append(drop, t)
			}
		}
		for chunk := range slices.Chunk(drop, filterMaxTopics) {
			var alive []string
			for _, t := range chunk {
				if !isClosed(byTopic[t]) {
					alive = append(alive, t)
				}
			}
			if len(alive) > 0 {
				rctx, cancel := context.WithTimeout(ctx, requestTimeout)
				_, err := fm.wf.Unsubscribe(rctx, protocolFilter(pt, alive...), filter.WithPeer(p))
				cancel()
				if err != nil && ctx.Err() == nil {
					fm.n.log.Debug("waku: filter unsubscribe", "peer", p.ShortString(), "err", err)
				}
			}
			for _, t := range chunk {
				d := byTopic[t]
				delete(byTopic, t)
				if !slices.ContainsFunc(mapValues(byTopic), func(x *subscription.SubscriptionDetails) bool { return x == d }) {
					_ = d.Close() // ends its drain goroutine
				}
			}
		}
		if len(byTopic) == 0 {
			delete(fm.subs, p)
		}
	}
	if len(want) == 0 {
		return 0
	}

	candidates := fm.n.servicePeers(false)
	slices.SortStableFunc(candidates, func(a, b peer.ID) int {
		return rank(fm.subs[b] != nil, fm.n.connected(b)) - rank(fm.subs[a] != nil, fm.n.connected(a))
	})
	covered := 0
	for _, p := range candidates {
		if covered == fm.n.cfg.FilterPeers || ctx.Err() != nil {
			break
		}
		if fm.subscribe(ctx, p, want) {
			covered++
		}
	}
	if covered == 0 && ctx.Err() == nil {
		fm.n.log.Warn("waku: no service peer accepted the filter subscription; retrying", "candidates", len(candidates))
	}
	return covered
}

func rank(serving, connected bool) int {
	r := 0
	if serving {
		r += 2
	}
	if connected {
		r++
	}
	return r
}

// subscribe makes p push every topic in want; it reports whether p now covers all.
func (fm *filterManager) subscribe(ctx context.Context, p peer.ID, want []string) bool {
	byTopic := fm.subs[p]
	var missing []string
	for _, t := range want {
		if byTopic[t] == nil {
			missing = append(missing, t)
		}
	}
	for chunk := range slices.Chunk(missing, filterMaxTopics) {
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		ds, err := fm.wf.Subscribe(rctx, protocolFilter(fm.n.cfg.PubsubTopic, chunk...), filter.WithPeer(p))
		cancel()
		for _, d := range ds {
			if byTopic == nil {
				byTopic = make(map[string]*subscription.SubscriptionDetails)
				fm.subs[p] = byTopic
			}
			for t := range d.ContentFilter.ContentTopics {
				byTopic[t] = d
			}
			fm.n.wg.Add(1)
			go fm.drain(d)
		}
		if err != nil {
			if ctx.Err() == nil {
				fm.n.log.Debug("waku: filter subscribe", "peer", p.ShortString(), "err", err)
			}
			return false
		}
	}
	return true
}

// drain forwards a go-waku filter subscription into the hub until it closes, and asks
// for a re-subscription when go-waku marks the service peer unresponsive.
func (fm *filterManager) drain(d *subscription.SubscriptionDetails) {
	defer fm.n.wg.Done()
	closing := d.Closing
	for {
		select {
		case env, ok := <-d.C:
			if !ok {
				return
			}
			fm.n.deliver(env)
		case _, ok := <-closing:
			closing = nil // closed or signalled: either way, once
			if ok {
				fm.poke() // peer unresponsive: reconcile drops and replaces it
			}
		case <-fm.n.ctx.Done():
			return
		}
	}
}

// stop ends the filter client; the drain goroutines end with the node context.
func (fm *filterManager) stop() {
	fm.n.w.Host().Network().StopNotify(fm.notify)
	fm.wf.Stop()
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// isClosed reads the flag go-waku sets when it gives up on (or closes) a subscription.
func isClosed(d *subscription.SubscriptionDetails) bool {
	d.RLock()
	defer d.RUnlock()
	return d.Closed
}
