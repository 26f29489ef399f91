package waku

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/waku-org/go-waku/waku/v2/protocol/legacy_store"

	"github.com/chorus-im/chorus/transport"
)

// History returns the messages on topics with since <= Timestamp <= until (zero times
// are unbounded) from the store peers (or, without store peers, from the node's own
// store), paging through each of them, merged, de-duplicated by hash and ordered by
// (Timestamp, Hash). It fails only if no store answered; a store that fails while
// another answers is logged. At most MaxHistory messages: narrow the window beyond.
func (n *Node) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if err := transport.CheckTopics(topics); err != nil {
		return nil, err
	}
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	ts := slices.Clone(topics)
	slices.Sort(ts)
	ts = slices.Compact(ts)

	sources := slices.Clone(n.storePeers)
	local := len(sources) == 0
	if local && !n.cfg.Store {
		return nil, fmt.Errorf("waku: no store peers: %w", transport.ErrNoHistory)
	}
	if local {
		sources = []peer.ID{""}
	}
	seen := map[[32]byte]bool{}
	var out []transport.Envelope
	var errs []error
	answered := 0
	for _, p := range sources {
		got, err := n.queryStore(ctx, p, ts, since, until)
		if err != nil {
			if ctx.Err() != nil {
				return nil, n.closedErr(ctx.Err())
			}
			errs = append(errs, fmt.Errorf("store %s: %w", p.ShortString(), err))
			continue
		}
		answered++
		for _, e := range got {
			if !seen[e.Hash] {
				seen[e.Hash] = true
				out = append(out, e)
			}
		}
		if len(out) > MaxHistory {
			return nil, errTooMuchHistory
		}
	}
	if answered == 0 {
		return nil, fmt.Errorf("waku: history: %w: %w", transport.ErrNoHistory, errors.Join(errs...))
	}
	if len(errs) > 0 {
		n.log.Warn("waku: some store peers failed", "err", errors.Join(errs...))
	}
	slices.SortFunc(out, func(a, b transport.Envelope) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
	return out, nil
}

var errTooMuchHistory = fmt.Errorf("waku: history exceeds %d messages: narrow the window", MaxHistory)

// queryStore pages through one store ("" = the local store) for the topics, at most
// storeMaxFilters content topics per query.
func (n *Node) queryStore(ctx context.Context, p peer.ID, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	var out []transport.Envelope
	for chunk := range slices.Chunk(topics, storeMaxFilters) {
		q := legacy_store.Query{PubsubTopic: n.cfg.PubsubTopic, ContentTopics: chunk}
		if !since.IsZero() {
			q.StartTime = ptr(max(since.UnixNano(), 1)) // 0 would mean "unbounded"
		}
		if !until.IsZero() {
			q.EndTime = ptr(until.UnixNano())
		}
		opts := []legacy_store.HistoryRequestOption{legacy_store.WithPaging(true, storePageSize)}
		if p == "" {
			opts = append(opts, legacy_store.WithLocalQuery())
		} else {
			opts = append(opts, legacy_store.WithPeer(p))
		}
		qctx, cancel := context.WithTimeout(ctx, requestTimeout)
		res, err := n.w.LegacyStore().Query(qctx, q, opts...)
		cancel()
		if err != nil {
			return nil, err
		}
		for {
			qctx, cancel := context.WithTimeout(ctx, requestTimeout)
			more, err := res.Next(qctx) // Next before GetMessages
			cancel()
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
			for _, m := range res.GetMessages() {
				if m == nil || !slices.Contains(chunk, m.ContentTopic) {
					continue
				}
				t := m.GetTimestamp()
				if (!since.IsZero() && t < since.UnixNano()) || (!until.IsZero() && t > until.UnixNano()) {
					continue // a store that ignores bounds
				}
				out = append(out, transport.Envelope{
					Topic:     m.ContentTopic,
					Payload:   m.Payload,
					Hash:      m.Hash(n.cfg.PubsubTopic),
					Timestamp: time.Unix(0, t),
				})
			}
			if len(out) > MaxHistory {
				return nil, errTooMuchHistory
			}
		}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
