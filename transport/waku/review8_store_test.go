package waku

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-msgio/pbio"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"
	"google.golang.org/protobuf/proto"
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
