package waku

import (
	"context"
	"errors"
	"testing"
	"time"

	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"

	"github.com/chorus-im/chorus/transport"
)

// TestHistorySourcePoints: a TruncatedError names each store's point (Sources, by peer
// id), and the first call of a later chain, handed those points (WithSourcePoints), asks
// each store from its own point instead of from since — the caller keeps the points
// between Syncs. The stores of TestHistoryResumePerStore (an honest one holding 25
// messages one second apart, pages of 4, HistoryLimit 10; a lying one cutting each
// answer 1 µs past where it is asked from). A first chain reads the honest store to its
// end; a second chain starts at the lying store's cut (the caller's last sync), with
// the honest store's point at the first chain's start.
//
// Asserted: the first chain's last error lists the honest store done and the lying
// store at its cut (Complete), by their peer ids; in the second chain's first call the
// honest store is asked from its point, not from since, and a name it does not know
// changes nothing; without points it is asked from since.
func TestHistorySourcePoints(t *testing.T) {
	const held, limit = 25, 10
	from := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return from.Add(time.Duration(i+1) * time.Second) }
	honest, liar, asked := honestAndLiar(t, held, at)
	cli := start(t, Config{StorePeers: addrs(honest, liar), StoreQueryRate: -1, HistoryLimit: limit})
	honestID, liarID := cli.storePeers[0].String(), cli.storePeers[1].String()

	// The first chain, to the honest store's end.
	since := from
	var state []byte
	var last error
	for call := range 5 {
		envs, err := cli.History(transport.WithResume(context.Background(), state), []string{topicA}, since, time.Time{})
		if err != nil && !errors.Is(err, transport.ErrHistoryTruncated) {
			t.Fatalf("call %d: %v", call, err)
		}
		if err == nil {
			t.Fatalf("call %d: complete beside a lying store", call)
		}
		last = err
		if transport.AskedOf(err) == 1 {
			break // the honest store done
		}
		since, state = transport.ResumeAt(err, since, envs), transport.ResumeOf(err)
	}
	var te *transport.TruncatedError
	if !errors.As(last, &te) {
		t.Fatalf("the first chain ended with %v", last)
	}
	t.Logf("the first chain's points: %+v (complete up to since + %v)", te.Sources, te.Complete.Sub(from))
	if len(te.Sources) != 2 {
		t.Fatalf("Sources lists %d stores, want 2: %+v", len(te.Sources), te.Sources)
	}
	for _, sp := range te.Sources {
		switch sp.Source {
		case honestID:
			if !sp.Done {
				t.Errorf("the honest store, read to its end, is listed at %v, not done", sp.At.Sub(from))
			}
		case liarID:
			if sp.Done || !sp.At.Equal(te.Complete) {
				t.Errorf("the lying store is listed done %v at since + %v, want its cut (Complete, since + %v)", sp.Done, sp.At.Sub(from), te.Complete.Sub(from))
			}
		default:
			t.Errorf("Sources names %q, not a store peer's id", sp.Source)
		}
	}

	// A later chain from the lying store's cut (the caller's last sync), the honest store's
	// point at the first chain's end.
	point := at(held - 1).Add(time.Second)
	ask := func(points map[string]time.Time) time.Time {
		t.Helper()
		n := len(asked())
		_, err := cli.History(transport.WithSourcePoints(context.Background(), points), []string{topicA}, te.Complete, time.Time{})
		if err != nil && !errors.Is(err, transport.ErrHistoryTruncated) {
			t.Fatal(err)
		}
		got := asked()
		if len(got) != n+1 {
			t.Fatalf("the honest store got %d queries, want 1", len(got)-n)
		}
		return got[n]
	}
	if got := ask(map[string]time.Time{honestID: point, liarID: te.Complete, "someone-else": point.Add(time.Hour)}); !got.Equal(point) {
		t.Errorf("with its point, the honest store was asked from since + %v, want its point (since + %v)", got.Sub(from), point.Sub(from))
	}
	if got := ask(nil); !got.Equal(te.Complete) {
		t.Errorf("without points, the honest store was asked from since + %v, want since (+ %v)", got.Sub(from), te.Complete.Sub(from))
	}
}

// TestHistorySourcePointsSetAside: a store stalled at its own start twice (every message
// it sends stamped at the query's start, at since and at since + 1 ns) is set aside for
// the chain — done, not asked again — and has no point of its own: it is not listed in
// Sources, neither in the call that set it aside nor in the later calls of the chain
// (listed done, a caller keeping the points would never ask it from before that chain's
// start again). Beside it, an honest store of 25 messages (pages of 4, HistoryLimit 10)
// keeps the chain going.
//
// Asserted: the stalled store's peer id is in no call's Sources; the honest store is in
// every call's.
func TestHistorySourcePointsSetAside(t *testing.T) {
	const held, limit = 25, 10
	from := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return from.Add(time.Duration(i+1) * time.Second) }
	honest := start(t, Config{})
	fakeStoreV3(honest, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0])
		} else {
			for i < held && at(i).UnixNano() < req.GetTimeStart() {
				i++
			}
		}
		resp := &spb.StoreQueryResponse{}
		for ; i < held && len(resp.Messages) < 4; i++ {
			resp.Messages = append(resp.Messages, fakeEntry(req.ContentTopics[0], []byte{'h', byte(i)}, at(i).UnixNano()))
		}
		if i < held {
			resp.PaginationCursor = make([]byte, 32)
			resp.PaginationCursor[0] = byte(i)
		}
		return resp
	})
	stalled := start(t, Config{})
	fakeStoreV3(stalled, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		resp := &spb.StoreQueryResponse{PaginationCursor: make([]byte, 32)}
		for i := range limit {
			resp.Messages = append(resp.Messages, fakeEntry(req.ContentTopics[0], []byte{'s', byte(i)}, req.GetTimeStart()))
		}
		resp.PaginationCursor[0] = byte(len(req.PaginationCursor)) + 1
		return resp
	})
	cli := start(t, Config{StorePeers: addrs(honest, stalled), StoreQueryRate: -1, HistoryLimit: limit})
	honestID, stalledID := cli.storePeers[0].String(), cli.storePeers[1].String()
	since := from
	var state []byte
	for call := range 4 {
		envs, err := cli.History(transport.WithResume(context.Background(), state), []string{topicA}, since, time.Time{})
		if err == nil {
			break
		}
		if !errors.Is(err, transport.ErrHistoryTruncated) {
			t.Fatalf("call %d: %v", call, err)
		}
		srcs := transport.SourcesOf(err)
		t.Logf("call %d from since + %v: %d envelopes, Sources %+v", call, since.Sub(from), len(envs), srcs)
		listed := map[string]bool{}
		for _, sp := range srcs {
			listed[sp.Source] = true
		}
		if listed[stalledID] {
			t.Errorf("call %d lists the store set aside in Sources", call)
		}
		if !listed[honestID] {
			t.Errorf("call %d does not list the honest store in Sources", call)
		}
		since, state = transport.ResumeAt(err, since, envs), transport.ResumeOf(err)
	}
}
