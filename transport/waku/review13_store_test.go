package waku

import (
	"bytes"
	"context"
	"testing"
	"time"

	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"

	"github.com/chorus-im/chorus/transport"
)

// TestReview13StalledStoreOutvoted (review 13): History ignores a store cut
// without getting past since ("stalled": every message it kept stamped at since — a
// flood of HistoryLimit messages at one timestamp, met again when the previous round's
// cut was that timestamp) as soon as any other store answered in full. Alone, the
// stalled store makes the answer truncated at since (the caller moves on by 1 ns and asks
// for the rest); with a second store that answers "nothing" (a lying store; or one that
// simply does not hold these messages), History reports the answer complete, and Sync
// sets LastSync to its start: the stalled store's messages after the flood are never
// asked for again. One lying store outvotes the honest one's "there is more". Here the
// honest store (HistoryLimit 10) holds 15 messages at since and a real one at since + 5 s.
// The same with a second store cut past since (made-up messages at since + 10 s on): its
// cut becomes the resume point, past the honest store's unread message.
//
// Asserted: the real message is in the answer, or History's answer is truncated with a
// resume point not past it.
func TestReview13StalledStoreOutvoted(t *testing.T) {
	topic := "/chorus/1/r13-stall/proto"
	since := time.Now().Add(-time.Hour).Truncate(time.Second)
	type msg struct {
		payload []byte
		ts      time.Time
	}
	var held []msg
	for i := range 15 {
		held = append(held, msg{[]byte{'f', byte(i)}, since})
	}
	real := msg{[]byte("the real one"), since.Add(5 * time.Second)}
	held = append(held, real)
	realHash := fakeEntry(topic, real.payload, real.ts.UnixNano()).MessageHash

	honest := start(t, Config{})
	fakeStoreV3(honest, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0])
		} else {
			for i < len(held) && held[i].ts.UnixNano() < req.GetTimeStart() {
				i++
			}
		}
		resp := &spb.StoreQueryResponse{}
		for ; i < len(held) && len(resp.Messages) < 4; i++ {
			resp.Messages = append(resp.Messages, fakeEntry(topic, held[i].payload, held[i].ts.UnixNano()))
		}
		if i < len(held) {
			resp.PaginationCursor = make([]byte, 32)
			resp.PaginationCursor[0] = byte(i)
		}
		return resp
	})
	empty := start(t, Config{})
	fakeStoreV3(empty, func(*spb.StoreQueryRequest) *spb.StoreQueryResponse { return &spb.StoreQueryResponse{} })
	// A store cut past since: one made-up message a page, since + 10 s on, a fresh cursor
	// each page, until the page bound (HistoryLimit 10: 5 pages) cuts it at since + 10.004 s.
	cutter := start(t, Config{})
	fakeStoreV3(cutter, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0])
		}
		cursor := make([]byte, 32)
		cursor[0] = byte(i + 1)
		ts := since.Add(10*time.Second + time.Duration(i)*time.Millisecond).UnixNano()
		return &spb.StoreQueryResponse{Messages: []*spb.WakuMessageKeyValue{fakeEntry(topic, []byte{'x', byte(i)}, ts)}, PaginationCursor: cursor}
	})

	for _, c := range []struct {
		name   string
		stores []*Node
	}{{"honest store alone", []*Node{honest}}, {"honest store and an empty one", []*Node{honest, empty}},
		{"honest store and one cut past since", []*Node{honest, cutter}}} {
		t.Run(c.name, func(t *testing.T) {
			cli := start(t, Config{StorePeers: addrs(c.stores...), StoreQueryRate: -1, HistoryLimit: 10})
			envs, err := cli.History(context.Background(), []string{topic}, since, time.Time{})
			got := false
			for _, e := range envs {
				if bytes.Equal(e.Hash[:], realHash) {
					got = true
				}
			}
			next := transport.ResumeAt(err, since, envs)
			t.Logf("History: %d envelopes, err %v; the message at since + 5 s returned: %v; resume at since + %v", len(envs), err, got, next.Sub(since))
			if !got && err == nil {
				t.Errorf("History reports its answer complete without the honest store's message at since + 5 s (the honest store was cut at since): Sync sets LastSync past it")
			}
			if !got && err != nil && next.After(real.ts) {
				t.Errorf("the message at since + 5 s is not in the answer and the resume point (since + %v) is past it", next.Sub(since))
			}
		})
	}
}
