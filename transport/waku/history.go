package waku

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
	"github.com/waku-org/go-waku/waku/v2/protocol"
	"github.com/waku-org/go-waku/waku/v2/protocol/legacy_store"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/store"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/transport"
)

// History returns the messages on topics with since <= Timestamp <= until (zero times
// are unbounded) from the store peers (or, without store peers, from the node's own
// store), merged, de-duplicated by hash and ordered by (Timestamp, Hash). Each store is
// asked over store v3 (/vac/waku/store-query/3.0.0) and, if it does not speak it, over
// legacy store v2; at most 10 content topics go into one query, and every query is
// paged to its end.
//
// A query that matches more than HistoryLimit messages is cut after that many (oldest
// first): History then returns the messages up to the cut together with an error
// wrapping transport.ErrHistoryTruncated; continue from the last returned timestamp.
// History fails only if no store answered; a store that fails while another answers
// is logged.
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

	sources, err := n.historySources()
	if err != nil {
		return nil, err
	}
	seen := map[[32]byte]bool{}
	var out []transport.Envelope
	var errs []error
	answered := 0
	cutoff := int64(math.MaxInt64) // truncated answers: nothing after this is complete
	for _, p := range sources {
		got, cut, err := n.queryStore(ctx, p, ts, since, until)
		if err != nil {
			if ctx.Err() != nil {
				return nil, n.closedErr(ctx.Err())
			}
			errs = append(errs, fmt.Errorf("store %s: %w", p.ShortString(), err))
			continue
		}
		answered++
		cutoff = min(cutoff, cut)
		for _, e := range got {
			if !seen[e.Hash] {
				seen[e.Hash] = true
				out = append(out, e)
			}
		}
	}
	if answered == 0 {
		return nil, fmt.Errorf("waku: history: %w: %w", transport.ErrNoHistory, errors.Join(errs...))
	}
	if len(errs) > 0 {
		n.log.Warn("waku: some store peers failed", "err", errors.Join(errs...))
	}
	sortEnvelopes(out)
	if cutoff == math.MaxInt64 {
		return out, nil
	}
	i, _ := slices.BinarySearchFunc(out, cutoff, func(e transport.Envelope, t int64) int {
		if e.Timestamp.UnixNano() <= t {
			return -1
		}
		return 1
	})
	return out[:i], fmt.Errorf("waku: more than %d messages (HistoryLimit): %w", n.cfg.HistoryLimit, transport.ErrHistoryTruncated)
}

func sortEnvelopes(out []transport.Envelope) {
	slices.SortFunc(out, func(a, b transport.Envelope) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
}

// historySources returns the store peers, or "" for the node's own store.
func (n *Node) historySources() ([]peer.ID, error) {
	if len(n.storePeers) > 0 {
		return slices.Clone(n.storePeers), nil
	}
	if !n.cfg.Store {
		return nil, fmt.Errorf("waku: no store peers: %w", transport.ErrNoHistory)
	}
	return []peer.ID{""}, nil
}

// queryStore pages through one store ("" = the local store) for the topics, at most
// storeMaxFilters content topics per query. cut is math.MaxInt64, or the timestamp up
// to which the answer is complete when a query was cut at HistoryLimit messages.
func (n *Node) queryStore(ctx context.Context, p peer.ID, topics []string, since, until time.Time) (out []transport.Envelope, cut int64, err error) {
	cut = math.MaxInt64
	v3 := n.v3 != nil
	if p != "" {
		v3 = n.speaksV3(ctx, p)
	}
	for chunk := range slices.Chunk(topics, storeMaxFilters) {
		var got []transport.Envelope
		var chunkCut int64
		if !v3 {
			got, chunkCut, err = n.queryLegacy(ctx, p, chunk, since, until)
		} else {
			req := &spb.StoreQueryRequest{IncludeData: true}
			store.FilterCriteria{
				ContentFilter: protocol.NewContentFilter(n.cfg.PubsubTopic, chunk...),
				TimeStart:     v3Start(since),
				TimeEnd:       v3End(until),
			}.PopulateStoreRequest(req)
			got, chunkCut, err = n.pageV3(ctx, p, req, chunk, since, until)
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, got...)
		cut = min(cut, chunkCut)
	}
	return out, cut, nil
}

// v3Start and v3End convert History's inclusive bounds to store v3's (start
// inclusive, end exclusive); zero is unbounded.
func v3Start(since time.Time) *int64 {
	if since.IsZero() {
		return nil
	}
	return proto.Int64(since.UnixNano())
}

func v3End(until time.Time) *int64 {
	if until.IsZero() {
		return nil
	}
	return proto.Int64(until.UnixNano() + 1)
}

// speaksV3 reports whether a store peer serves store v3: by the protocols it announced
// (identify), else by opening a v3 stream.
func (n *Node) speaksV3(ctx context.Context, p peer.ID) bool {
	h := n.w.Host()
	if err := h.Connect(ctx, h.Peerstore().PeerInfo(p)); err != nil {
		return true // let the query report the failure
	}
	s, err := h.NewStream(ctx, p, storeV3ID)
	if err != nil {
		return !isNotSupported(err)
	}
	_ = s.Reset() // negotiated: the peer speaks v3
	return true
}

func isNotSupported(err error) bool {
	var ns msmux.ErrNotSupported[libp2pproto.ID]
	return errors.As(err, &ns) || strings.Contains(err.Error(), "protocols not supported")
}

// pageV3 pages one store v3 query forward to its end (or HistoryLimit messages).
func (n *Node) pageV3(ctx context.Context, p peer.ID, req *spb.StoreQueryRequest, topics []string, since, until time.Time) ([]transport.Envelope, int64, error) {
	var out []transport.Envelope
	var cursor []byte
	for {
		resp, err := n.requestV3(ctx, p, req, cursor)
		if err != nil {
			return nil, 0, err
		}
		for _, kv := range resp.Messages {
			if e, ok := n.envelope(kv, topics, since, until); ok {
				out = append(out, e)
			}
		}
		next := resp.PaginationCursor
		if next == nil {
			return out, math.MaxInt64, nil
		}
		if len(resp.Messages) == 0 || bytes.Equal(next, cursor) {
			return nil, 0, errors.New("waku: store v3 cursor does not advance")
		}
		cursor = next
		if len(out) >= n.cfg.HistoryLimit {
			return out, out[len(out)-1].Timestamp.UnixNano(), nil
		}
	}
}

// requestV3 sends one store v3 request with the cursor: to the local archive (p ==
// "") or over the network with go-waku's client. A peer answering 429 is retried with
// backoff.
func (n *Node) requestV3(ctx context.Context, p peer.ID, req *spb.StoreQueryRequest, cursor []byte) (*spb.StoreQueryResponse, error) {
	if p == "" {
		if n.v3 == nil {
			return nil, transport.ErrNoHistory
		}
		q := proto.Clone(req).(*spb.StoreQueryRequest)
		q.RequestId = "local"
		q.PaginationForward = true
		q.PaginationLimit = proto.Uint64(StoreV3MaxPage)
		q.PaginationCursor = cursor
		resp := n.v3.answer(ctx, q)
		if c := resp.GetStatusCode(); c != StatusOK {
			return nil, store.NewStoreError(int(c), resp.GetStatusDesc())
		}
		return resp, nil
	}
	var crit store.Criteria
	if len(req.MessageHashes) > 0 {
		crit = store.MessageHashCriteria{MessageHashes: toHashes(req.MessageHashes)}
	} else {
		crit = rawCriteria{req}
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		n.v3Pages.Add(1)
		qctx, cancel := context.WithTimeout(ctx, requestTimeout)
		res, err := n.w.Store().Request(qctx, crit,
			store.WithPeer(p), store.WithPaging(true, StoreV3MaxPage), store.IncludeData(req.IncludeData),
			store.WithCursor(cursor))
		cancel()
		var se *store.StoreError
		if errors.As(err, &se) && se.Code == StatusTooManyRequests && attempt < 5 {
			select {
			case <-time.After(backoff):
				backoff *= 2
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err != nil {
			return nil, err
		}
		return res.Response(), nil
	}
}

// rawCriteria copies the filter fields of a prepared request.
type rawCriteria struct{ req *spb.StoreQueryRequest }

func (c rawCriteria) PopulateStoreRequest(r *spb.StoreQueryRequest) {
	r.PubsubTopic = c.req.PubsubTopic
	r.ContentTopics = c.req.ContentTopics
	r.TimeStart = c.req.TimeStart
	r.TimeEnd = c.req.TimeEnd
}

func toHashes(hs [][]byte) []wpb.MessageHash {
	out := make([]wpb.MessageHash, len(hs))
	for i, h := range hs {
		out[i] = wpb.ToMessageHash(h)
	}
	return out
}

// envelope converts an answer entry, checking it against the query (a store may
// ignore filters) and recomputing its hash (the key a store sends is not trusted).
// topics == nil accepts any content topic.
func (n *Node) envelope(kv *spb.WakuMessageKeyValue, topics []string, since, until time.Time) (transport.Envelope, bool) {
	m := kv.GetMessage()
	if m == nil || kv.GetPubsubTopic() != n.cfg.PubsubTopic || (topics != nil && !slices.Contains(topics, m.ContentTopic)) {
		return transport.Envelope{}, false
	}
	t := m.GetTimestamp()
	if (!since.IsZero() && t < since.UnixNano()) || (!until.IsZero() && t > until.UnixNano()) {
		return transport.Envelope{}, false
	}
	h := m.Hash(n.cfg.PubsubTopic)
	if !bytes.Equal(h[:], kv.MessageHash) {
		n.log.Warn("waku: store sent a message under a wrong hash; using the computed one")
	}
	return transport.Envelope{Topic: m.ContentTopic, Payload: m.Payload, Hash: h, Timestamp: time.Unix(0, t)}, true
}

// queryLegacy pages one legacy store v2 query forward to its end (or HistoryLimit).
func (n *Node) queryLegacy(ctx context.Context, p peer.ID, chunk []string, since, until time.Time) ([]transport.Envelope, int64, error) {
	var out []transport.Envelope
	q := legacy_store.Query{PubsubTopic: n.cfg.PubsubTopic, ContentTopics: chunk}
	if !since.IsZero() {
		q.StartTime = proto.Int64(max(since.UnixNano(), 1)) // 0 would mean "unbounded"
	}
	if !until.IsZero() {
		q.EndTime = proto.Int64(until.UnixNano())
	}
	qctx, cancel := context.WithTimeout(ctx, requestTimeout)
	opts := []legacy_store.HistoryRequestOption{legacy_store.WithPaging(true, storePageSize)}
	if p == "" {
		opts = append(opts, legacy_store.WithLocalQuery())
	} else {
		opts = append(opts, legacy_store.WithPeer(p))
	}
	if p != "" {
		n.v2Pages.Add(1)
	}
	res, err := n.w.LegacyStore().Query(qctx, q, opts...)
	cancel()
	if err != nil {
		return nil, 0, err
	}
	for first := true; ; first = false {
		if p != "" && !first {
			n.v2Pages.Add(1)
		}
		qctx, cancel := context.WithTimeout(ctx, requestTimeout)
		more, err := res.Next(qctx) // Next before GetMessages
		cancel()
		if err != nil {
			return nil, 0, err
		}
		if !more {
			return out, math.MaxInt64, nil
		}
		for _, m := range res.GetMessages() {
			if m == nil {
				continue
			}
			kv := &spb.WakuMessageKeyValue{Message: m, PubsubTopic: proto.String(n.cfg.PubsubTopic)}
			h := m.Hash(n.cfg.PubsubTopic)
			kv.MessageHash = h[:]
			if e, ok := n.envelope(kv, chunk, since, until); ok {
				out = append(out, e)
			}
		}
		if len(out) >= n.cfg.HistoryLimit {
			return out, out[len(out)-1].Timestamp.UnixNano(), nil
		}
	}
}

// HistoryHashes returns the hashes of the stored messages on topics with since <=
// Timestamp <= until, without their contents (a store v3 hash-only query), from every
// store that speaks v3, merged and de-duplicated, at most HistoryLimit per store.
// Stores that speak only legacy store are skipped; if no store answered it fails with
// transport.ErrNoHistory.
func (n *Node) HistoryHashes(ctx context.Context, topics []string, since, until time.Time) ([][32]byte, error) {
	if err := transport.CheckTopics(topics); err != nil {
		return nil, err
	}
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	sources, err := n.historySources()
	if err != nil {
		return nil, err
	}
	ts := slices.Clone(topics)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	seen := map[[32]byte]bool{}
	var out [][32]byte
	answered := 0
	var errs []error
	for _, p := range sources {
		if p != "" && !n.speaksV3(ctx, p) {
			continue
		}
		ok := true
		for chunk := range slices.Chunk(ts, storeMaxFilters) {
			req := &spb.StoreQueryRequest{}
			store.FilterCriteria{
				ContentFilter: protocol.NewContentFilter(n.cfg.PubsubTopic, chunk...),
				TimeStart:     v3Start(since),
				TimeEnd:       v3End(until),
			}.PopulateStoreRequest(req)
			var cursor []byte
			count := 0
			for count < n.cfg.HistoryLimit {
				resp, err := n.requestV3(ctx, p, req, cursor)
				if err != nil {
					errs = append(errs, err)
					ok = false
					break
				}
				for _, kv := range resp.Messages {
					if len(kv.MessageHash) != 32 {
						continue
					}
					h := [32]byte(kv.MessageHash)
					count++
					if !seen[h] {
						seen[h] = true
						out = append(out, h)
					}
				}
				if resp.PaginationCursor == nil || bytes.Equal(resp.PaginationCursor, cursor) || len(resp.Messages) == 0 {
					break
				}
				cursor = resp.PaginationCursor
			}
			if !ok {
				break
			}
		}
		if ok {
			answered++
		}
	}
	if answered == 0 {
		if ctx.Err() != nil {
			return nil, n.closedErr(ctx.Err())
		}
		return nil, fmt.Errorf("waku: history hashes: %w: %w", transport.ErrNoHistory, errors.Join(errs...))
	}
	return out, nil
}

// HistoryByHash fetches the stored messages with the given hashes (a store v3 lookup
// query, R1 repair when the Waku hash of a missing message is known) from every store
// that speaks v3, ordered by (Timestamp, Hash). Hashes no store holds are simply absent
// from the result. At most StoreV3MaxHashes hashes per call.
func (n *Node) HistoryByHash(ctx context.Context, hashes [][32]byte) ([]transport.Envelope, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	if len(hashes) > StoreV3MaxHashes {
		return nil, fmt.Errorf("waku: more than %d hashes", StoreV3MaxHashes)
	}
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	sources, err := n.historySources()
	if err != nil {
		return nil, err
	}
	want := map[[32]byte]bool{}
	req := &spb.StoreQueryRequest{IncludeData: true}
	for _, h := range hashes {
		if !want[h] {
			want[h] = true
			req.MessageHashes = append(req.MessageHashes, bytes.Clone(h[:]))
		}
	}
	seen := map[[32]byte]bool{}
	var out []transport.Envelope
	answered := 0
	var errs []error
	for _, p := range sources {
		if len(seen) == len(want) {
			break
		}
		if p != "" && !n.speaksV3(ctx, p) {
			continue
		}
		got, _, err := n.pageV3(ctx, p, req, nil, time.Time{}, time.Time{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		answered++
		for _, e := range got {
			if want[e.Hash] && !seen[e.Hash] {
				seen[e.Hash] = true
				out = append(out, e)
			}
		}
	}
	if answered == 0 {
		if ctx.Err() != nil {
			return nil, n.closedErr(ctx.Err())
		}
		return nil, fmt.Errorf("waku: history by hash: %w: %w", transport.ErrNoHistory, errors.Join(errs...))
	}
	sortEnvelopes(out)
	return out, nil
}
