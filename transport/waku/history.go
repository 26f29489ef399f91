package waku

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
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
// store), merged, de-duplicated by hash and ordered by (Timestamp, Hash). The stores are
// asked at once, each query within its own deadline (StoreTimeout); each is asked over store v3
// (/vac/waku/store-query/3.0.0) and, if it does not speak it, over legacy store v2; at
// most 10 content topics go into one query, and every query is paged to its end or to
// its bounds (queryBound: HistoryLimit messages received, kept or not, and
// maxQueryPages pages).
//
// A store whose answer was cut short (a bound, or its deadline) is complete up to the
// last message kept from it. History returns every store's messages, never cutting one
// store's at another's cut, and, if some store was cut after since, a
// *transport.TruncatedError whose Complete is the earliest such cut: continue from
// transport.ResumeAt. A store cut without getting past since (nothing kept, or every
// message at since: a flood at one timestamp) is asked once more from the next
// nanosecond (what the flood held beyond HistoryLimit at that timestamp is skipped, as a
// caller moving on from a resume point at since would skip it); cut there again, it sets
// no resume point: it is logged and ignored, unless no store answered in full, when the
// answer is truncated at since (the caller moves on by one nanosecond). History fails
// only if no store answered (transport.ErrHistoryUnreachable); a store that fails while
// another answers is logged.
//
// Resume points per store: the TruncatedError carries, as its Resume state, each
// store's point — its own cut, or done (it answered in full; a stalled store ignored as
// a resume point is done too). The call that continues the answer with that state
// (transport.WithResume, since = ResumeAt, same topics and until) asks each store from
// its own cut (or since, if later) and does not ask a done store again, so a store cut
// just past since no longer sets where the others are asked from; Complete stays the
// earliest point of a store still cut short, so a caller's resume point never passes a
// message a store has not yet sent. A store that fails after it was cut short keeps its
// point, which holds Complete back (it may hold messages after it); one not in the state
// (a first call, a state History cannot use — malformed, another query, a since before
// its Complete — or a store that failed before it was ever cut) is asked from since, and
// if it fails it is logged and ignored as before.
//
// Store points between chains: the TruncatedError also lists each store's point as
// Sources, named by storeName (the peer id; "local" for the node's own store), but for a
// store set aside (stalled at its own since) or failing before it was ever cut. The first
// call of a later chain may carry such points (transport.WithSourcePoints): a store not in
// the chain's Resume state is asked from its point when that is later than since
// (TestHistorySourcePoints).
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
	prev := decodeResume(transport.ResumeState(ctx), ts, since, until)
	points := transport.SourcePointsOf(ctx)
	answers := make([]storeAnswer, len(sources))
	froms := make([]time.Time, len(sources))
	var wg sync.WaitGroup
	for i, p := range sources {
		sp, ok := prev[p]
		if sp.done {
			answers[i].done = true // answered in full earlier in this chain: not asked again
			continue
		}
		froms[i] = since
		if ok && sp.at > since.UnixNano() {
			froms[i] = time.Unix(0, sp.at) // its own cut
		} else if at, kept := points[storeName(p)]; !ok && kept && at.After(since) {
			froms[i] = at // its point from an earlier chain (transport.WithSourcePoints)
		}
		wg.Go(func() { answers[i] = n.queryStore(ctx, p, ts, froms[i], until) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, n.closedErr(ctx.Err())
	}
	seen := map[[32]byte]bool{}
	var out []transport.Envelope
	var errs []error
	answered, full := 0, false
	resume := int64(math.MaxInt64) // the earliest cut after a store's own since
	var stallFrom time.Time        // the earliest own since of a store stalled there
	var why, stalled string
	next := map[peer.ID]storePoint{}
	for i, a := range answers {
		p := sources[i]
		if a.done {
			answered, full, next[p] = answered+1, true, storePoint{done: true, aside: prev[p].aside}
			continue
		}
		if a.err != nil {
			errs = append(errs, fmt.Errorf("store %s: %w", p.ShortString(), a.err))
			if sp, ok := prev[p]; ok {
				// Cut short earlier in the chain: still complete only up to its point,
				// and asked from there again next time.
				next[p] = sp
				if sp.at < resume {
					resume, why = sp.at, "store failing after an answer cut short"
				}
			}
			continue
		}
		answered++
		for _, e := range a.envs {
			if !seen[e.Hash] {
				seen[e.Hash] = true
				out = append(out, e)
			}
		}
		switch {
		case a.stalled != "":
			if stalled == "" || froms[i].Before(stallFrom) {
				stallFrom = froms[i]
			}
			stalled = a.stalled
			next[p] = storePoint{at: froms[i].UnixNano()}
			n.log.Warn("waku: store answer cut short at the query's start; ignored as a resume point",
				"store", p.ShortString(), "why", a.stalled)
		case a.cut != math.MaxInt64:
			next[p] = storePoint{at: a.cut}
			if a.cut < resume {
				resume, why = a.cut, a.why
			}
		default:
			full, next[p] = true, storePoint{done: true}
		}
	}
	if answered == 0 {
		return nil, fmt.Errorf("waku: history: %w: %w", transport.ErrHistoryUnreachable, errors.Join(errs...))
	}
	if len(errs) > 0 {
		n.log.Warn("waku: some store peers failed", "err", errors.Join(errs...))
	}
	sortEnvelopes(out)
	var te *transport.TruncatedError
	switch {
	case resume != math.MaxInt64:
		te = &transport.TruncatedError{Complete: time.Unix(0, resume), Reason: why}
	case stalled != "" && !full:
		te = &transport.TruncatedError{Complete: stallFrom, Reason: stalled}
	default:
		return out, nil
	}
	if stalled != "" && (resume != math.MaxInt64 || full) {
		// A stalled store ignored as a resume point (logged above) is not asked again in
		// this chain: it would stall again at its own point.
		for i, a := range answers {
			if a.stalled != "" {
				next[sources[i]] = storePoint{done: true, aside: true}
			}
		}
	}
	for _, a := range answers {
		if !a.done {
			te.Asked++
		}
	}
	if !te.Complete.IsZero() {
		te.Resume = encodeResume(ts, until, resumeState{complete: te.Complete.UnixNano(), stores: next})
	}
	te.Sources = sourcePoints(next)
	return out, te
}

// storeName is a store's name in transport.SourcePoint: its peer id, "local" for the
// node's own store.
func storeName(p peer.ID) string {
	if p == "" {
		return "local"
	}
	return p.String()
}

// sourcePoints lists the stores' points of a chain (TruncatedError.Sources), by name,
// but for the stores set aside (stalled at their own since: they have no point).
func sourcePoints(next map[peer.ID]storePoint) []transport.SourcePoint {
	out := make([]transport.SourcePoint, 0, len(next))
	for p, sp := range next {
		if sp.aside {
			continue
		}
		pt := transport.SourcePoint{Source: storeName(p), Done: sp.done}
		if !sp.done {
			pt.At = time.Unix(0, sp.at)
		}
		out = append(out, pt)
	}
	slices.SortFunc(out, func(a, b transport.SourcePoint) int { return strings.Compare(a.Source, b.Source) })
	return out
}

// storeAnswer is one store's answer to a History call.
type storeAnswer struct {
	envs []transport.Envelope
	// cut is math.MaxInt64, or the time after since up to which the answer is complete
	// when a query was cut short (the earliest over its queries), for the reason why.
	cut int64
	why string
	// stalled says why a query was cut short without getting past since.
	stalled string
	err     error
	// done: the store answered in full earlier in the chain of calls (Resume state)
	// and was not asked.
	done bool
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
// storeMaxFilters content topics per query, each query within its own deadline
// (StoreTimeout): a store slow on one query's topics is cut there, and still asked for
// the next query's (review 9, TestReview9StoreDeadlineFirstChunk: one deadline for the
// whole set failed every later query at once and dropped what the first had kept). A
// query cut without getting past since stalls the whole answer (complete up to since
// only for its topics, so for the store's: review 9, TestReview9StalledChunkSkipped).
func (n *Node) queryStore(ctx context.Context, p peer.ID, topics []string, since, until time.Time) storeAnswer {
	ans := storeAnswer{cut: math.MaxInt64}
	v3 := n.v3 != nil
	if p != "" {
		sctx, cancel := context.WithTimeout(ctx, n.cfg.StoreTimeout)
		v3 = n.speaksV3(sctx, p)
		cancel()
	}
	for chunk := range slices.Chunk(topics, storeMaxFilters) {
		q := n.queryChunk(ctx, p, v3, chunk, since, until)
		if q.err == nil && q.why == whyDeadline && len(q.envs) == 0 {
			q.err = fmt.Errorf("waku: no message from the store within its deadline (%v)", n.cfg.StoreTimeout)
		}
		if q.err != nil {
			return storeAnswer{err: q.err}
		}
		if q.why != "" && stalledAt(q, since) && !since.IsZero() && (until.IsZero() || since.Before(until)) {
			// Cut without getting past since: asked once more from the next nanosecond,
			// the step a caller would take from the answer's resume point. An honest
			// store gets past it (a flood of HistoryLimit messages at one timestamp
			// fills one query, not two in a row); one stalled again is ignored as a
			// resume point below. Without the second query, another store's full answer
			// made the answer complete and the messages after the flood were never
			// asked for (review 13, TestReview13StalledStoreOutvotedByEmptyStore).
			next := since.Add(time.Nanosecond)
			if r := n.queryChunk(ctx, p, v3, chunk, next, until); r.err == nil && (r.why == "" || !stalledAt(r, next)) {
				q.envs, q.why = append(q.envs, r.envs...), r.why
			}
		}
		ans.envs = append(ans.envs, q.envs...)
		if q.why == "" {
			continue
		}
		// Cut short: complete up to the last message kept (ordered by timestamp).
		if stalledAt(q, since) {
			ans.stalled = q.why
		} else if c := q.envs[len(q.envs)-1].Timestamp.UnixNano(); c < ans.cut {
			ans.cut, ans.why = c, q.why
		}
	}
	if ans.stalled != "" {
		// Some topics are complete only up to since: no other query's cut may stand for
		// them.
		ans.cut, ans.why = math.MaxInt64, ""
	}
	return ans
}

// stalledAt reports whether q, a query from since, kept nothing after since (nothing at
// all, or every message at since).
func stalledAt(q queryResult, since time.Time) bool {
	return len(q.envs) == 0 || (!since.IsZero() && !q.envs[len(q.envs)-1].Timestamp.After(since))
}

// queryChunk asks one store one query (at most storeMaxFilters topics) within the
// query's deadline (StoreTimeout).
func (n *Node) queryChunk(ctx context.Context, p peer.ID, v3 bool, chunk []string, since, until time.Time) queryResult {
	sctx, cancel := context.WithTimeout(ctx, n.cfg.StoreTimeout)
	defer cancel()
	if !v3 {
		return n.queryLegacy(ctx, sctx, p, chunk, since, until)
	}
	req := &spb.StoreQueryRequest{IncludeData: true}
	store.FilterCriteria{
		ContentFilter: protocol.NewContentFilter(n.cfg.PubsubTopic, chunk...),
		TimeStart:     v3Start(since),
		TimeEnd:       v3End(until),
	}.PopulateStoreRequest(req)
	return n.pageV3(ctx, sctx, p, req, chunk, since, until)
}

// queryResult is one query's answer from one store: the envelopes kept, and why the
// query was cut short ("" if it was paged to its end).
type queryResult struct {
	envs []transport.Envelope
	why  string
	err  error
}

// minPageFill is the fewest messages per page, on average, that maxQueryPages allows
// for: a store v3 page holds up to 100 messages and ends early only before 8 MiB (54
// messages of the largest payload).
const minPageFill = 25

// maxQueryPages bounds the pages of one query to one store.
func maxQueryPages(historyLimit int) int { return historyLimit/minPageFill + 5 }

// queryBound is the one check that ends a query to one store early: at HistoryLimit
// messages received (every message the store sent, whether it answers the query or
// not) or maxQueryPages pages. The store's deadline is the context's.
type queryBound struct{ msgs, pages int }

func (n *Node) newQueryBound() *queryBound {
	return &queryBound{msgs: n.cfg.HistoryLimit, pages: maxQueryPages(n.cfg.HistoryLimit)}
}

// page counts a page of k messages and says why the query must stop after it ("" to
// go on).
func (b *queryBound) page(k int) string {
	b.msgs -= k
	b.pages--
	switch {
	case b.msgs <= 0:
		return "message limit (HistoryLimit)"
	case b.pages <= 0:
		return "page limit"
	}
	return ""
}

// storeDeadline reports whether err ended a query because the store's own deadline
// (sctx) passed, or go-waku's per-peer rate limiter (golang.org/x/time/rate) saw that
// the next request could not be sent before it, while the caller's context (ctx) is
// still live: the query is then cut short, not failed.
func storeDeadline(ctx, sctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	return errors.Is(sctx.Err(), context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "would exceed context deadline")
}

// whyDeadline: a query cut short by its store's deadline. A store that sent nothing
// kept by then has failed (unreachable or stalling), not been cut short.
const whyDeadline = "store deadline"

// errForeignPage: a store answered a page none of whose messages the query asked for
// (it ignores the filter, or it is keeping us paging).
var errForeignPage = errors.New("waku: store answered a page of messages not asked for")

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

// pageV3 pages one store v3 query forward to its end or its bounds (queryBound, the
// store's deadline sctx; ctx is the caller's).
func (n *Node) pageV3(ctx, sctx context.Context, p peer.ID, req *spb.StoreQueryRequest, topics []string, since, until time.Time) queryResult {
	var out []transport.Envelope
	var cursor []byte
	bound := n.newQueryBound()
	for {
		resp, err := n.requestV3(sctx, p, req, cursor)
		if storeDeadline(ctx, sctx, err) {
			return queryResult{envs: out, why: whyDeadline}
		}
		if err != nil {
			return queryResult{err: err}
		}
		kept := 0
		for _, kv := range resp.Messages {
			if e, ok := n.envelope(kv, topics, since, until); ok {
				out = append(out, e)
				kept++
			}
		}
		next := resp.PaginationCursor
		if next == nil {
			return queryResult{envs: out}
		}
		if len(resp.Messages) == 0 || bytes.Equal(next, cursor) {
			return queryResult{err: errors.New("waku: store v3 cursor does not advance")}
		}
		if kept == 0 {
			return queryResult{err: errForeignPage}
		}
		cursor = next
		if why := bound.page(len(resp.Messages)); why != "" {
			return queryResult{envs: out, why: why}
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
		var res store.Result
		err := n.heldToCtx(qctx, p, storeV3ID, func() (err error) {
			res, err = n.w.Store().Request(qctx, crit,
				store.WithPeer(p), store.WithPaging(true, StoreV3MaxPage), store.IncludeData(req.IncludeData),
				store.WithCursor(cursor))
			return err
		})
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

// heldToCtx runs call, a go-waku store request to p over the protocol id, and returns
// its error, or ctx's when ctx ends first: go-waku's store clients (v3 and legacy) read
// the answer without a deadline, so a store that takes the request and never answers
// would block them for good. When ctx ends first, our outbound streams of that protocol
// to p are reset (a concurrent request to the same store fails with them) until call
// returns. A local request (p == "") is simply called.
func (n *Node) heldToCtx(ctx context.Context, p peer.ID, id libp2pproto.ID, call func() error) error {
	if p == "" {
		return call()
	}
	ch := make(chan error, 1)
	go func() { ch <- call() }()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, c := range n.w.Host().Network().ConnsToPeer(p) {
			for _, st := range c.GetStreams() {
				if st.Protocol() == id && st.Stat().Direction == network.DirOutbound {
					_ = st.Reset()
				}
			}
		}
		select {
		case <-ch:
			return ctx.Err()
		case <-tick.C:
		}
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

// queryLegacy pages one legacy store v2 query forward to its end or its bounds
// (queryBound, the store's deadline sctx; ctx is the caller's).
func (n *Node) queryLegacy(ctx, sctx context.Context, p peer.ID, chunk []string, since, until time.Time) queryResult {
	var out []transport.Envelope
	q := legacy_store.Query{PubsubTopic: n.cfg.PubsubTopic, ContentTopics: chunk}
	if !since.IsZero() {
		q.StartTime = proto.Int64(max(since.UnixNano(), 1)) // 0 would mean "unbounded"
	}
	if !until.IsZero() {
		q.EndTime = proto.Int64(until.UnixNano())
	}
	qctx, cancel := context.WithTimeout(sctx, requestTimeout)
	opts := []legacy_store.HistoryRequestOption{legacy_store.WithPaging(true, storePageSize)}
	if p == "" {
		opts = append(opts, legacy_store.WithLocalQuery())
	} else {
		opts = append(opts, legacy_store.WithPeer(p))
	}
	if p != "" {
		n.v2Pages.Add(1)
	}
	var res *legacy_store.Result
	err := n.heldToCtx(qctx, p, legacy_store.StoreID_v20beta4, func() (err error) {
		res, err = n.w.LegacyStore().Query(qctx, q, opts...)
		return err
	})
	cancel()
	if storeDeadline(ctx, sctx, err) {
		return queryResult{why: whyDeadline}
	}
	if err != nil {
		return queryResult{err: err}
	}
	bound := n.newQueryBound()
	for first := true; ; first = false {
		if p != "" && !first {
			n.v2Pages.Add(1)
		}
		qctx, cancel := context.WithTimeout(sctx, requestTimeout)
		var more bool
		err := n.heldToCtx(qctx, p, legacy_store.StoreID_v20beta4, func() (err error) {
			more, err = res.Next(qctx) // Next before GetMessages
			return err
		})
		cancel()
		if storeDeadline(ctx, sctx, err) {
			return queryResult{envs: out, why: whyDeadline}
		}
		if err != nil {
			return queryResult{err: err}
		}
		if !more {
			return queryResult{envs: out}
		}
		msgs := res.GetMessages()
		kept := 0
		for _, m := range msgs {
			if m == nil {
				continue
			}
			kv := &spb.WakuMessageKeyValue{Message: m, PubsubTopic: proto.String(n.cfg.PubsubTopic)}
			h := m.Hash(n.cfg.PubsubTopic)
			kv.MessageHash = h[:]
			if e, ok := n.envelope(kv, chunk, since, until); ok {
				out = append(out, e)
				kept++
			}
		}
		if len(msgs) > 0 && kept == 0 {
			return queryResult{err: errForeignPage}
		}
		if why := bound.page(len(msgs)); why != "" {
			return queryResult{envs: out, why: why}
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
		hs, err := n.hashesFrom(ctx, p, ts, since, until)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if hs == nil {
			continue // legacy only
		}
		answered++
		for _, h := range hs {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	if answered == 0 {
		if ctx.Err() != nil {
			return nil, n.closedErr(ctx.Err())
		}
		return nil, fmt.Errorf("waku: history hashes: %w: %w", transport.ErrHistoryUnreachable, errors.Join(errs...))
	}
	return out, nil
}

// hashesFrom pages the hash-only queries for the topics through one store within its
// deadline and bounds (queryBound): nil for a store that speaks only legacy store.
func (n *Node) hashesFrom(ctx context.Context, p peer.ID, topics []string, since, until time.Time) ([][32]byte, error) {
	sctx, cancel := context.WithTimeout(ctx, n.cfg.StoreTimeout)
	defer cancel()
	if p != "" && !n.speaksV3(sctx, p) {
		return nil, nil
	}
	out := [][32]byte{}
	for chunk := range slices.Chunk(topics, storeMaxFilters) {
		req := &spb.StoreQueryRequest{}
		store.FilterCriteria{
			ContentFilter: protocol.NewContentFilter(n.cfg.PubsubTopic, chunk...),
			TimeStart:     v3Start(since),
			TimeEnd:       v3End(until),
		}.PopulateStoreRequest(req)
		var cursor []byte
		bound := n.newQueryBound()
		for {
			resp, err := n.requestV3(sctx, p, req, cursor)
			if storeDeadline(ctx, sctx, err) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			for _, kv := range resp.Messages {
				if len(kv.MessageHash) == 32 {
					out = append(out, [32]byte(kv.MessageHash))
				}
			}
			if resp.PaginationCursor == nil || bytes.Equal(resp.PaginationCursor, cursor) || len(resp.Messages) == 0 {
				break
			}
			cursor = resp.PaginationCursor
			if bound.page(len(resp.Messages)) != "" {
				break
			}
		}
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
		sctx, cancel := context.WithTimeout(ctx, n.cfg.StoreTimeout)
		q := n.pageV3(ctx, sctx, p, req, nil, time.Time{}, time.Time{})
		cancel()
		if q.err != nil {
			errs = append(errs, q.err)
			continue
		}
		answered++
		for _, e := range q.envs {
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
		return nil, fmt.Errorf("waku: history by hash: %w: %w", transport.ErrHistoryUnreachable, errors.Join(errs...))
	}
	sortEnvelopes(out)
	return out, nil
}
