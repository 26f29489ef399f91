package waku

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-msgio/pbio"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/transport"
)

// fakeStoreV3 serves store v3 on n with answer, which builds the response to each
// request (RequestId and status are filled in).
func fakeStoreV3(n *Node, answer func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse) {
	n.w.Host().SetStreamHandler(storeV3ID, func(s network.Stream) {
		defer func() { _ = s.Close() }()
		req := new(spb.StoreQueryRequest)
		if err := pbio.NewDelimitedReader(s, 1<<20).ReadMsg(req); err != nil {
			_ = s.Reset()
			return
		}
		resp := answer(req)
		resp.RequestId, resp.StatusCode = req.RequestId, proto.Uint32(StatusOK)
		_ = pbio.NewDelimitedWriter(s).WriteMsg(resp)
	})
}

func fakeEntry(topic string, payload []byte, ts int64) *spb.WakuMessageKeyValue {
	m := &wpb.WakuMessage{Payload: payload, ContentTopic: topic, Timestamp: proto.Int64(ts)}
	h := m.Hash(protocolPubsub)
	return &spb.WakuMessageKeyValue{MessageHash: h[:], Message: m, PubsubTopic: proto.String(protocolPubsub)}
}

// TestHistoryStoreDeadline: a store answering each page with one made-up message the
// query does ask for (right topic, advancing timestamps) and a fresh cursor, for ever,
// passes the page check; its own deadline (StoreTimeout) cuts it short. History returns
// within about that deadline with every message of the honest store (asked at the same
// time) and a TruncatedError whose Complete is the last made-up message kept.
func TestHistoryStoreDeadline(t *testing.T) {
	pub := start(t, Config{})
	honest := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "h.db"), Peers: addrs(pub)})
	waitPeers(t, map[*Node]int{pub: 1, honest: 1})
	sent := publishN(t, pub, 5, topicA)
	waitStored(t, len(sent), honest)

	evil := start(t, Config{})
	var pages, last atomic.Int64
	base := time.Now().Add(-time.Hour).UnixNano()
	fakeStoreV3(evil, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := pages.Add(1)
		ts := base + i*int64(time.Millisecond)
		last.Store(ts)
		cursor := make([]byte, 32)
		cursor[0], cursor[1] = byte(i), byte(i>>8) // fresh every page
		return &spb.StoreQueryResponse{
			Messages:         []*spb.WakuMessageKeyValue{fakeEntry(req.ContentTopics[0], []byte{byte(i), byte(i >> 8)}, ts)},
			PaginationCursor: cursor,
		}
	})
	const deadline = 2 * time.Second
	cli := start(t, Config{StorePeers: addrs(evil, honest), StoreTimeout: deadline})
	began := time.Now()
	envs, err := cli.History(context.Background(), []string{topicA}, time.Time{}, time.Time{})
	took := time.Since(began)
	t.Logf("History: %d envelopes, err %v, after %v and %d pages from the malicious store", len(envs), err, took.Round(time.Millisecond), pages.Load())
	if took > deadline+3*time.Second {
		t.Errorf("History took %v with a store deadline of %v", took, deadline)
	}
	got := 0
	for _, e := range envs {
		if _, ok := sent[e.Hash]; ok {
			got++
		}
	}
	if got != len(sent) {
		t.Errorf("%d of the honest store's %d messages", got, len(sent))
	}
	var te *transport.TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TruncatedError (the malicious store cut at its deadline)", err)
	}
	if c := te.Complete.UnixNano(); c < base || c > last.Load() {
		t.Errorf("Complete %d is not one of the made-up messages' times [%d, %d]", c, base, last.Load())
	}
}

// TestHistoryTruncationPerStore: a store that holds more than HistoryLimit messages
// (here: made up, one second apart, an hour ago) is cut at the last one it sent; another
// store's messages after that point are still returned (History used to cut every answer
// at the earliest cut), and the TruncatedError's Complete is that store's cut, where
// ResumeAt continues. Paging on from there, the caller gets the rest of that store.
func TestHistoryTruncationPerStore(t *testing.T) {
	pub := start(t, Config{})
	honest := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "h.db"), Peers: addrs(pub)})
	waitPeers(t, map[*Node]int{pub: 1, honest: 1})
	sent := publishN(t, pub, 5, topicA)
	waitStored(t, len(sent), honest)

	const limit, held = 10, 25
	from := time.Now().Add(-time.Hour).Truncate(time.Second)
	big := start(t, Config{})
	fakeStoreV3(big, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		// held messages at from+1s ... from+held s; pages of 4, cursor = index of the next.
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0])
		} else {
			for i < held && from.Add(time.Duration(i+1)*time.Second).UnixNano() < req.GetTimeStart() {
				i++
			}
		}
		resp := &spb.StoreQueryResponse{}
		for ; i < held && len(resp.Messages) < 4; i++ {
			resp.Messages = append(resp.Messages, fakeEntry(req.ContentTopics[0], []byte{byte(i)}, from.Add(time.Duration(i+1)*time.Second).UnixNano()))
		}
		if i < held {
			resp.PaginationCursor = make([]byte, 32)
			resp.PaginationCursor[0] = byte(i)
		}
		return resp
	})
	cli := start(t, Config{StorePeers: addrs(big, honest), StoreQueryRate: -1, HistoryLimit: limit})
	envs, err := cli.History(context.Background(), []string{topicA}, from, time.Time{})
	var te *transport.TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TruncatedError", err)
	}
	// 12 received (3 pages of 4 reach the limit of 10): complete up to the 12th.
	if want := from.Add(12 * time.Second); !te.Complete.Equal(want) || !transport.ResumeAt(err, from, envs).Equal(want) {
		t.Errorf("Complete %v, ResumeAt %v; want %v", te.Complete.Sub(from), transport.ResumeAt(err, from, envs).Sub(from), want.Sub(from))
	}
	got := 0
	for _, e := range envs {
		if _, ok := sent[e.Hash]; ok {
			got++
		}
	}
	if got != len(sent) || len(envs) != 12+len(sent) {
		t.Errorf("%d envelopes, %d of the other store's %d (its messages are after the cut): want all of them and the 12 of the cut store", len(envs), got, len(sent))
	}
	all := map[[32]byte]bool{}
	since := from
	for range 10 {
		part, err := cli.History(context.Background(), []string{topicA}, since, time.Time{})
		for _, e := range part {
			all[e.Hash] = true
		}
		if err == nil {
			break
		}
		if !errors.Is(err, transport.ErrHistoryTruncated) {
			t.Fatal(err)
		}
		since = transport.ResumeAt(err, since, part)
	}
	if len(all) != held+len(sent) {
		t.Errorf("paging on with ResumeAt: %d distinct messages, want %d", len(all), held+len(sent))
	}
}

// TestHistoryStoreSilent: a store that takes the request and never answers is cut by
// its deadline with nothing: that is a failure, not an answer truncated at since (which
// would keep Sync stepping one nanosecond per StoreTimeout). Alone it makes History fail
// with ErrNoHistory after about StoreTimeout; next to an honest store it is logged and
// the honest store's messages come back complete (no error).
func TestHistoryStoreSilent(t *testing.T) {
	pub := start(t, Config{})
	honest := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "h.db"), Peers: addrs(pub)})
	waitPeers(t, map[*Node]int{pub: 1, honest: 1})
	sent := publishN(t, pub, 5, topicA)
	waitStored(t, len(sent), honest)

	silent := start(t, Config{})
	silent.w.Host().SetStreamHandler(storeV3ID, func(s network.Stream) {
		time.Sleep(10 * time.Second)
		_ = s.Reset()
	})
	const deadline = time.Second
	for _, c := range []struct {
		name   string
		stores []*Node
	}{{"alone", []*Node{silent}}, {"with an honest store", []*Node{silent, honest}}} {
		cli := start(t, Config{StorePeers: addrs(c.stores...), StoreTimeout: deadline})
		began := time.Now()
		envs, err := cli.History(context.Background(), []string{topicA}, time.Now().Add(-time.Hour), time.Time{})
		took := time.Since(began)
		t.Logf("%s: %d envelopes, err %v, after %v", c.name, len(envs), err, took.Round(time.Millisecond))
		if took > deadline+3*time.Second {
			t.Errorf("%s: History took %v with a store deadline of %v", c.name, took, deadline)
		}
		if len(c.stores) == 1 && !errors.Is(err, transport.ErrNoHistory) {
			t.Errorf("alone: err = %v, want ErrNoHistory", err)
		}
		if len(c.stores) == 2 && (err != nil || len(envs) != len(sent)) {
			t.Errorf("with an honest store: %d of %d envelopes, err %v", len(envs), len(sent), err)
		}
	}
}

// TestHistoryStalledStore: a store answering HistoryLimit messages all stamped at the
// query's start is cut without getting past since. Next to a store that answers in full
// it sets no resume point (no error); alone, the answer is truncated at since, so that
// transport.ResumeAt moves on by one nanosecond.
func TestHistoryStalledStore(t *testing.T) {
	const limit = 10
	stall := func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		resp := &spb.StoreQueryResponse{PaginationCursor: make([]byte, 32)}
		for i := range limit {
			resp.Messages = append(resp.Messages, fakeEntry(req.ContentTopics[0], []byte{byte(i)}, req.GetTimeStart()))
		}
		resp.PaginationCursor[0] = byte(len(req.PaginationCursor)) + 1
		return resp
	}
	evil := start(t, Config{})
	fakeStoreV3(evil, stall)
	empty := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "e.db")})
	since := time.Now().Add(-time.Hour)
	alone := start(t, Config{StorePeers: addrs(evil), StoreQueryRate: -1, HistoryLimit: limit})
	envs, err := alone.History(context.Background(), []string{topicA}, since, time.Time{})
	var te *transport.TruncatedError
	if !errors.As(err, &te) || !te.Complete.Equal(since) || len(envs) != limit {
		t.Fatalf("alone: %d envelopes, err %v; want %d and truncated at since", len(envs), err, limit)
	}
	if next := transport.ResumeAt(err, since, envs); next.Sub(since) != time.Nanosecond {
		t.Errorf("alone: ResumeAt is since + %v, want 1ns", next.Sub(since))
	}
	both := start(t, Config{StorePeers: addrs(evil, empty), StoreQueryRate: -1, HistoryLimit: limit})
	if envs, err := both.History(context.Background(), []string{topicA}, since, time.Time{}); err != nil || len(envs) != limit {
		t.Errorf("next to a full answer: %d envelopes, err %v; want %d and no error", len(envs), err, limit)
	}
}
