package waku

import (
	"context"
	"crypto/rand"
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

// TestReview8StoreEndlessCursor (review 8): a malicious (or broken) store node answers
// every store v3 page with one message the query did not ask for (another content topic,
// dropped by envelope) and a fresh cursor. pageV3 stops only on a nil cursor, an empty
// page, a repeated cursor or HistoryLimit messages *kept*, so it pages for ever; History
// asks its store peers one after the other, so the honest store listed after it is never
// asked. Run's maintenance loop calls Sync with no deadline: the client's Sync, and with it
// publish retries and prekey upkeep on that goroutine, would hang for good.
func TestReview8StoreEndlessCursor(t *testing.T) {
	pub := start(t, Config{})
	honest := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "h.db"), Peers: addrs(pub)})
	waitPeers(t, map[*Node]int{pub: 1, honest: 1})
	sent := publishN(t, pub, 5, topicA)
	waitStored(t, len(sent), honest)

	evil := start(t, Config{})
	var pages atomic.Int64
	evil.w.Host().SetStreamHandler(storeV3ID, func(s network.Stream) {
		defer func() { _ = s.Close() }()
		req := new(spb.StoreQueryRequest)
		if err := pbio.NewDelimitedReader(s, 1<<20).ReadMsg(req); err != nil {
			_ = s.Reset()
			return
		}
		pages.Add(1)
		cursor := make([]byte, 32)
		_, _ = rand.Read(cursor)
		m := &wpb.WakuMessage{Payload: []byte("not asked for"), ContentTopic: topicC, Timestamp: proto.Int64(time.Now().UnixNano())}
		h := m.Hash(protocolPubsub)
		_ = pbio.NewDelimitedWriter(s).WriteMsg(&spb.StoreQueryResponse{
			RequestId: req.RequestId, StatusCode: proto.Uint32(StatusOK),
			Messages:         []*spb.WakuMessageKeyValue{{MessageHash: h[:], Message: m, PubsubTopic: proto.String(protocolPubsub)}},
			PaginationCursor: cursor,
		})
	})
	cli := start(t, Config{StorePeers: addrs(evil, honest)})
	// Sync's context has no deadline (Run's); the test gives up after 8 s.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(8*time.Second, cancel)
	began := time.Now()
	envs, err := cli.History(ctx, []string{topicA}, time.Time{}, time.Time{})
	t.Logf("History: %d envelopes, err %v, after %v and %d pages from the malicious store", len(envs), err, time.Since(began).Round(time.Millisecond), pages.Load())
	if pages.Load() == 0 {
		t.Fatal("precondition: the malicious store was never asked")
	}
	if err != nil || len(envs) != len(sent) {
		t.Errorf("one store paging without end keeps History from returning (%v, %d of %d envelopes): the honest store after it is never asked", err, len(envs), len(sent))
	}
}

// TestReview8StoreTruncationCrawl (review 8): History merges the stores' answers and cuts
// them at the smallest truncation point (cutoff = min over stores), and Sync resumes the
// next query at the last envelope kept (or 1 ns later). A malicious store answers every
// query with HistoryLimit made-up messages on the asked topic stamped with the query's
// start (valid WakuMessages; only their hash is checked, and it is recomputed): its
// truncation point is the query's start, so History drops every honest envelope after it,
// and Sync's next query starts 1 ns later, for ever — the honest store's messages are
// never handed over (Sync never ends, and each round pages the honest store's whole
// window again).
func TestReview8StoreTruncationCrawl(t *testing.T) {
	pub := start(t, Config{})
	honest := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "h.db"), Peers: addrs(pub)})
	waitPeers(t, map[*Node]int{pub: 1, honest: 1})
	sent := publishN(t, pub, 5, topicA)
	waitStored(t, len(sent), honest)

	const limit = 10
	evil := start(t, Config{})
	evil.w.Host().SetStreamHandler(storeV3ID, func(s network.Stream) {
		defer func() { _ = s.Close() }()
		req := new(spb.StoreQueryRequest)
		if err := pbio.NewDelimitedReader(s, 1<<20).ReadMsg(req); err != nil {
			_ = s.Reset()
			return
		}
		resp := &spb.StoreQueryResponse{RequestId: req.RequestId, StatusCode: proto.Uint32(StatusOK), PaginationCursor: make([]byte, 32)}
		for i := range limit {
			m := &wpb.WakuMessage{Payload: []byte{byte(i)}, ContentTopic: req.ContentTopics[0], Timestamp: proto.Int64(req.GetTimeStart())}
			h := m.Hash(protocolPubsub)
			resp.Messages = append(resp.Messages, &spb.WakuMessageKeyValue{MessageHash: h[:], Message: m, PubsubTopic: proto.String(protocolPubsub)})
		}
		resp.PaginationCursor[0] = byte(len(req.PaginationCursor)) + 1 // never the cursor asked with
		_ = pbio.NewDelimitedWriter(s).WriteMsg(resp)
	})
	ctx := context.Background()
	from := time.Now().Add(-time.Hour)
	// Control: the honest store alone hands over its messages in one answer.
	ctl := start(t, Config{StorePeers: addrs(honest), StoreQueryRate: -1, HistoryLimit: limit})
	if envs, err := ctl.History(ctx, []string{topicA}, from, time.Time{}); err != nil || len(envs) != len(sent) {
		t.Fatalf("precondition: the honest store alone gives %d of %d messages (%v)", len(envs), len(sent), err)
	}
	cli := start(t, Config{StorePeers: addrs(honest, evil), StoreQueryRate: -1, HistoryLimit: limit})
	got := map[[32]byte]bool{}
	const rounds = 20
	for range rounds { // Sync's loop (protocol/sync.go, syncTopics)
		envs, err := cli.History(ctx, []string{topicA}, from, time.Time{})
		if err != nil && !errors.Is(err, transport.ErrHistoryTruncated) {
			t.Fatal(err)
		}
		for _, e := range envs {
			if _, ok := sent[e.Hash]; ok {
				got[e.Hash] = true
			}
		}
		if !errors.Is(err, transport.ErrHistoryTruncated) {
			break
		}
		next := from.Add(time.Nanosecond)
		if len(envs) > 0 && envs[len(envs)-1].Timestamp.After(from) {
			next = envs[len(envs)-1].Timestamp
		}
		t.Logf("truncated: %d envelopes, the next query starts %v later", len(envs), next.Sub(from))
		from = next
	}
	if len(got) != len(sent) {
		t.Errorf("after %d History rounds as Sync makes them, %d of the honest store's %d messages were handed over: a malicious store truncating at the query's start starves Sync", rounds, len(got), len(sent))
	}
}
