package waku

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio/pbio"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/store"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"
)

// Store v3 (13/WAKU2-STORE, /vac/waku/store-query/3.0.0) served from the archive the
// node's legacy store keeps: go-waku v0.10.3 ships the client and the protobuf types but
// no server. The archive is go-waku's sqlite table `message`, whose `messageHash`
// column holds the deterministic hash (14/WAKU2-MESSAGE) of every stored message.

// Store v3 status codes (13/WAKU2-STORE: 2xx success, anything else an error; the
// values are those nwaku uses).
const (
	StatusOK              = 200
	StatusBadRequest      = 400
	StatusTooManyRequests = 429
	StatusUnavailable     = 503
)

// Store v3 server limits.
const (
	// StoreV3MaxPage is the largest page the server returns (and the size it uses when
	// the request leaves pagination_limit unset or asks for more).
	StoreV3MaxPage = 100
	// StoreV3MaxContentTopics is the most content topics one request may filter on.
	StoreV3MaxContentTopics = 100
	// StoreV3MaxHashes is the most message hashes one lookup request may carry.
	StoreV3MaxHashes = 1000
	// storeV3MaxRequest bounds an encoded request (1000 hashes need ~34 KB).
	storeV3MaxRequest = 64 * 1024
	// storeV3MaxResponse bounds the message bytes of one response page: a page ends
	// early (with a cursor) rather than exceed it.
	storeV3MaxResponse = 8 << 20
	// Per requesting peer.
	serviceStoreRate  = 200
	serviceStoreBurst = 400
)

// storeV3Server answers store v3 queries over the node's archive.
type storeV3Server struct {
	db *sql.DB

	mu       sync.Mutex
	limit    rate.Limit // per requesting peer
	burst    int
	limiters map[peer.ID]*rate.Limiter
}

func newStoreV3Server(ctx context.Context, db *sql.DB) (*storeV3Server, error) {
	// The archive's indexes serve go-waku's legacy queries (by storedAt); v3 pages by
	// (timestamp, messageHash).
	for _, q := range []string{
		`CREATE INDEX IF NOT EXISTS chorus_v3_ts ON message (timestamp, messageHash)`,
		`CREATE INDEX IF NOT EXISTS chorus_v3_topic ON message (contentTopic, pubsubTopic, timestamp, messageHash)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("waku: store v3 index: %w", err)
		}
	}
	return &storeV3Server{db: db, limit: serviceStoreRate, burst: serviceStoreBurst, limiters: map[peer.ID]*rate.Limiter{}}, nil
}

// allow applies the per-peer request rate.
func (s *storeV3Server) allow(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[p]
	if l == nil {
		if len(s.limiters) >= 10_000 {
			clear(s.limiters) // bounded memory; a reset only forgives bursts
		}
		l = rate.NewLimiter(s.limit, s.burst)
		s.limiters[p] = l
	}
	return l.Allow()
}

// handle serves one request on a stream: one varint-delimited StoreQueryRequest in,
// one StoreQueryResponse out.
func (s *storeV3Server) handle(st network.Stream) {
	defer func() { _ = st.Close() }()
	_ = st.SetDeadline(time.Now().Add(requestTimeout))
	req := new(spb.StoreQueryRequest)
	var resp *spb.StoreQueryResponse
	if err := pbio.NewDelimitedReader(st, storeV3MaxRequest).ReadMsg(req); err != nil {
		resp = statusResponse("N/A", StatusBadRequest, "malformed request: "+err.Error())
	} else if !s.allow(st.Conn().RemotePeer()) {
		resp = statusResponse(req.RequestId, StatusTooManyRequests, "too many requests")
	} else {
		resp = s.answer(context.Background(), req)
	}
	if err := pbio.NewDelimitedWriter(st).WriteMsg(resp); err != nil {
		_ = st.Reset()
	}
}

func statusResponse(id string, code uint32, desc string) *spb.StoreQueryResponse {
	return &spb.StoreQueryResponse{RequestId: id, StatusCode: proto.Uint32(code), StatusDesc: proto.String(desc)}
}

// errBadRequest marks a request the spec makes invalid (status 400).
var errBadRequest = errors.New("bad request")

// checkStoreV3Request validates a request as 13/WAKU2-STORE requires.
func checkStoreV3Request(req *spb.StoreQueryRequest) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, a...))
	}
	if req.RequestId == "" {
		return bad("missing request_id")
	}
	contentFilter := req.PubsubTopic != nil || len(req.ContentTopics) > 0 || req.TimeStart != nil || req.TimeEnd != nil
	if len(req.MessageHashes) > 0 {
		if contentFilter {
			return bad("message_hashes cannot be combined with content filter criteria")
		}
		if len(req.MessageHashes) > StoreV3MaxHashes {
			return bad("more than %d message_hashes", StoreV3MaxHashes)
		}
		for _, h := range req.MessageHashes {
			if len(h) != 32 {
				return bad("message hash of %d bytes", len(h))
			}
		}
	}
	if len(req.ContentTopics) > 0 && req.GetPubsubTopic() == "" {
		// A pubsub_topic alone filters on the shard (the spec's SHOULD allows it; nwaku
		// and go-waku's client send it).
		return bad("content_topics need a pubsub_topic")
	}
	if len(req.ContentTopics) > StoreV3MaxContentTopics {
		return bad("more than %d content_topics", StoreV3MaxContentTopics)
	}
	for _, t := range req.ContentTopics {
		if t == "" {
			return bad("empty content topic")
		}
	}
	if req.TimeStart != nil && req.TimeEnd != nil && req.GetTimeStart() > req.GetTimeEnd() {
		return bad("time_start after time_end")
	}
	if req.PaginationCursor != nil && len(req.PaginationCursor) != 32 {
		return bad("pagination_cursor of %d bytes", len(req.PaginationCursor))
	}
	return nil
}

// answer runs a request against the archive.
func (s *storeV3Server) answer(ctx context.Context, req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
	if err := checkStoreV3Request(req); err != nil {
		return statusResponse(req.RequestId, StatusBadRequest, err.Error())
	}
	resp, err := s.query(ctx, req)
	switch {
	case errors.Is(err, errBadRequest):
		return statusResponse(req.RequestId, StatusBadRequest, err.Error())
	case err != nil:
		return statusResponse(req.RequestId, StatusUnavailable, "store unavailable")
	}
	resp.RequestId = req.RequestId
	resp.StatusCode = proto.Uint32(StatusOK)
	resp.StatusDesc = proto.String("OK")
	return resp
}

type archiveRow struct {
	hash        []byte
	ts          int64
	pubsubTopic string
	msg         *wpb.WakuMessage
}

// query selects one page in (timestamp, hash) order. With content topics, each topic is
// read in order from its own index range (at most a page + 1 rows each) and the ranges
// are merged, so a page costs O(topics × page) rows whatever the archive's size.
func (s *storeV3Server) query(ctx context.Context, req *spb.StoreQueryRequest) (*spb.StoreQueryResponse, error) {
	var conds []string
	var args []any
	if req.GetPubsubTopic() != "" {
		conds = append(conds, "pubsubTopic = ?")
		args = append(args, req.GetPubsubTopic())
	}
	if req.TimeStart != nil {
		conds = append(conds, "timestamp >= ?")
		args = append(args, req.GetTimeStart())
	}
	if req.TimeEnd != nil {
		conds = append(conds, "timestamp < ?") // end is exclusive
		args = append(args, req.GetTimeEnd())
	}
	if len(req.MessageHashes) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(req.MessageHashes)), ",")
		conds = append(conds, "messageHash IN ("+ph+")")
		for _, h := range req.MessageHashes {
			args = append(args, h)
		}
	}
	forward := req.PaginationForward
	if req.PaginationCursor != nil {
		var ts int64
		err := s.db.QueryRowContext(ctx, `SELECT timestamp FROM message WHERE messageHash = ?`, req.PaginationCursor).Scan(&ts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: unknown pagination_cursor", errBadRequest)
		}
		if err != nil {
			return nil, err
		}
		op := ">"
		if !forward {
			op = "<"
		}
		conds = append(conds, "(timestamp, messageHash) "+op+" (?, ?)") // row values use the index
		args = append(args, ts, req.PaginationCursor)
	}
	limit := int(min(req.GetPaginationLimit(), StoreV3MaxPage))
	if limit == 0 {
		limit = StoreV3MaxPage
	}
	var rows []archiveRow
	if len(req.ContentTopics) == 0 {
		r, err := s.selectRows(ctx, req.IncludeData, forward, conds, args, limit+1)
		if err != nil {
			return nil, err
		}
		rows = r
	} else {
		for _, t := range slices.Compact(slices.Sorted(slices.Values(req.ContentTopics))) {
			r, err := s.selectRows(ctx, req.IncludeData, forward, append(slices.Clip(conds), "contentTopic = ?"), append(slices.Clip(args), t), limit+1)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
		}
		slices.SortFunc(rows, func(a, b archiveRow) int {
			c := cmp.Or(cmp.Compare(a.ts, b.ts), bytes.Compare(a.hash, b.hash))
			if !forward {
				c = -c
			}
			return c
		})
	}
	var page []archiveRow
	more, size := false, 0
	for _, r := range rows {
		if len(page) == limit || size > storeV3MaxResponse {
			more = true
			break
		}
		if r.msg != nil {
			size += len(r.msg.Payload) + len(r.msg.ContentTopic) + len(r.pubsubTopic) + 64
		}
		page = append(page, r)
	}
	resp := &spb.StoreQueryResponse{}
	if !forward { // responses are always in forward order
		slices.Reverse(page)
	}
	if more && len(page) > 0 {
		// Forward: the last entry included; backward: the first (= oldest) included.
		last := page[len(page)-1]
		if !forward {
			last = page[0]
		}
		resp.PaginationCursor = bytes.Clone(last.hash)
	}
	for _, r := range page {
		kv := &spb.WakuMessageKeyValue{MessageHash: r.hash}
		if r.msg != nil {
			kv.Message = r.msg
			kv.PubsubTopic = proto.String(r.pubsubTopic)
		}
		resp.Messages = append(resp.Messages, kv)
	}
	return resp, nil
}

// selectRows reads at most n archive rows matching conds in (timestamp, hash) order
// (descending when !forward).
func (s *storeV3Server) selectRows(ctx context.Context, data, forward bool, conds []string, args []any, n int) ([]archiveRow, error) {
	order := "ASC"
	if !forward {
		order = "DESC"
	}
	cols := "messageHash, timestamp"
	if data {
		cols += ", pubsubTopic, contentTopic, payload, version"
	}
	q := "SELECT " + cols + " FROM message"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY timestamp %s, messageHash %s LIMIT ?", order, order)
	rows, err := s.db.QueryContext(ctx, q, append(slices.Clip(args), n)...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []archiveRow
	for rows.Next() {
		var r archiveRow
		if data {
			var ps, ct []byte // stored as text or blob depending on the writer
			var payload []byte
			var version uint32
			if err := rows.Scan(&r.hash, &r.ts, &ps, &ct, &payload, &version); err != nil {
				return nil, err
			}
			r.pubsubTopic = string(ps)
			r.msg = &wpb.WakuMessage{Payload: payload, ContentTopic: string(ct), Version: proto.Uint32(version), Timestamp: proto.Int64(r.ts)}
		} else if err := rows.Scan(&r.hash, &r.ts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// storeV3ID is the protocol id served and queried.
const storeV3ID = store.StoreQueryID_v300
