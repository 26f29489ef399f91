package waku

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/waku-org/go-waku/waku/persistence"
	"github.com/waku-org/go-waku/waku/persistence/sqlite"
	"github.com/waku-org/go-waku/waku/v2/protocol"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// newArchive is a go-waku archive in memory holding n messages (written by go-waku's
// own DBStore.Put) and a store v3 server over it.
func newArchive(t testing.TB, n int) *storeV3Server {
	t.Helper()
	db, err := sqlite.NewDB(":memory:", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := persistence.NewDBStore(prometheus.NewRegistry(), zap.NewNop(), persistence.WithDB(db), persistence.WithMigrations(sqlite.Migrations))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	base := time.Now().UnixNano()
	for i := range n {
		m := &wpb.WakuMessage{Payload: fmt.Appendf(nil, "m%d", i), ContentTopic: []string{topicA, topicB}[i%2], Timestamp: proto.Int64(base + int64(i/3))}
		if err := ms.Put(protocol.NewEnvelope(m, base, protocolPubsub)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := newStoreV3Server(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzStoreV3Request: any request bytes get a response with a status code, never a
// panic; a 200 never returns more than a page, and every entry has a 32-byte key.
func FuzzStoreV3Request(f *testing.F) {
	seed := func(r *spb.StoreQueryRequest) {
		b, _ := proto.Marshal(r)
		f.Add(b)
	}
	seed(&spb.StoreQueryRequest{RequestId: "a", IncludeData: true, PubsubTopic: proto.String(protocolPubsub), ContentTopics: []string{topicA}, PaginationForward: true, PaginationLimit: proto.Uint64(3)})
	seed(&spb.StoreQueryRequest{RequestId: "b", MessageHashes: [][]byte{make([]byte, 32)}})
	seed(&spb.StoreQueryRequest{RequestId: "c", TimeStart: proto.Int64(1), TimeEnd: proto.Int64(1 << 62), PaginationCursor: make([]byte, 32)})
	f.Add([]byte{0xff, 0x01})
	s := newArchive(f, 40)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(spb.StoreQueryRequest)
		if proto.Unmarshal(data, req) != nil {
			return
		}
		resp := s.answer(context.Background(), req)
		switch resp.GetStatusCode() {
		case StatusOK:
			if len(resp.Messages) > StoreV3MaxPage {
				t.Fatalf("%d messages in a page", len(resp.Messages))
			}
			for _, kv := range resp.Messages {
				if len(kv.MessageHash) != 32 || (kv.Message != nil) != req.IncludeData {
					t.Fatal("bad entry")
				}
			}
		case StatusBadRequest:
		default:
			t.Fatalf("status %d %s", resp.GetStatusCode(), resp.GetStatusDesc())
		}
		if resp.RequestId != req.RequestId {
			t.Fatal("request id not echoed")
		}
	})
}
