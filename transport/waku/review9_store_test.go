package waku

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"

	"github.com/chorus-im/chorus/transport"
)

// TestReview9StoreDeadlineFirstChunk (review 9): a query set of more than storeMaxFilters
// topics (every client's set is a multiple of protocol.QuerySetStep = 10; 11 own topics
// make 20) is asked of one store in chunks of 10, one after the other, all within the
// store's single deadline (StoreTimeout). A store slow to page a flood on a topic of the
// first chunk (a big backlog over a slow link; anyone can publish on a content topic) is
// cut by its deadline there: the messages it sent are kept (cut short, complete up to the
// last). The next chunk is then asked under the expired deadline: its request fails at
// once, that query counts as "no message from the store within its deadline", and
// queryStore drops the whole store's answer — the first chunk's messages with it. With
// that store alone History fails with ErrNoHistory (which Run's catch-up retry treats as
// final), and every later Sync asks the same and fails the same: catch-up stops for as
// long as the flood is stored, instead of being delayed by it (spec: Sync).
//
// Asserted (the correct behaviour): History hands over the messages the store sent before
// its deadline and a resume point past since (a TruncatedError), so that Sync advances.
func TestReview9StoreDeadlineFirstChunk(t *testing.T) {
	topics := make([]string, 11)
	for i := range topics {
		topics[i] = fmt.Sprintf("/chorus/1/r9-%02d/proto", i)
	}
	flooded := topics[0] // sorts first: in the first chunk
	since := time.Now().Add(-time.Hour).Truncate(time.Second)
	const perPage, pageDelay = 4, 150 * time.Millisecond
	var pages, otherChunks atomic.Int64
	slow := start(t, Config{})
	fakeStoreV3(slow, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		if !slices.Contains(req.ContentTopics, flooded) {
			otherChunks.Add(1)
			return &spb.StoreQueryResponse{} // nothing stored there: answered at once
		}
		time.Sleep(pageDelay) // a slow store (or link)
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0]) | int(req.PaginationCursor[1])<<8
		}
		pages.Add(1)
		resp := &spb.StoreQueryResponse{PaginationCursor: make([]byte, 32)}
		for k := range perPage {
			n := i + k
			resp.Messages = append(resp.Messages, fakeEntry(flooded, []byte{byte(n), byte(n >> 8)}, since.Add(time.Duration(n+1)*time.Millisecond).UnixNano()))
		}
		next := i + perPage
		resp.PaginationCursor[0], resp.PaginationCursor[1] = byte(next), byte(next>>8)
		return resp
	})
	const deadline = time.Second
	cli := start(t, Config{StorePeers: addrs(slow), StoreQueryRate: -1, StoreTimeout: deadline})
	began := time.Now()
	envs, err := cli.History(context.Background(), topics, since, time.Time{})
	t.Logf("History: %d envelopes, err %v, after %v; %d pages of the flooded chunk served, %d requests of the other chunk",
		len(envs), err, time.Since(began).Round(time.Millisecond), pages.Load(), otherChunks.Load())
	if pages.Load() < 2 {
		t.Fatalf("set-up: the store served %d pages before its deadline", pages.Load())
	}
	if len(envs) == 0 {
		t.Errorf("History returned none of the %d+ messages the store sent before its deadline (err %v)", perPage*(pages.Load()-1), err)
	}
	var te *transport.TruncatedError
	switch {
	case !errors.As(err, &te):
		t.Errorf("err = %v, want a TruncatedError (the store was cut by its deadline after sending messages)", err)
	case !transport.ResumeAt(err, since, envs).After(since.Add(time.Nanosecond)):
		t.Errorf("the resume point %v does not get past since (+1ns): Sync would ask the same again", transport.ResumeAt(err, since, envs).Sub(since))
	}
}

// TestReview9StalledChunkSkipped (review 9): queryStore asks a store for the topics in
// chunks of 10. A chunk cut without getting past since ("stalled": every message it kept
// stamped at since — a flood of HistoryLimit messages at one timestamp, met again when the
// previous round's cut was that timestamp) sets only ans.stalled, while another chunk cut
// past since sets the store's cut: History then reports the answer complete up to that
// cut, for every topic, though the stalled chunk's topics are complete only up to since.
// Sync resumes at the cut, and the stalled chunk's messages between since and the cut are
// never asked for again. Here, one store, HistoryLimit 10: the first chunk's topic holds
// 30 messages 1 s apart after since (cut at the 12th received, since + 12 s); the second
// chunk's topic holds 15 messages stamped at since and one at since + 5 s (a real one,
// behind the flood).
//
// Asserted: the message at since + 5 s is in the answer, or the resume point is not past
// it.
func TestReview9StalledChunkSkipped(t *testing.T) {
	topics := make([]string, 11)
	for i := range topics {
		topics[i] = fmt.Sprintf("/chorus/1/r9s-%02d/proto", i)
	}
	heavy, flooded := topics[0], topics[10] // first chunk, second chunk
	since := time.Now().Add(-time.Hour).Truncate(time.Second)
	type msg struct {
		payload []byte
		ts      time.Time
	}
	var heavyMsgs, floodMsgs []msg
	for i := range 30 {
		heavyMsgs = append(heavyMsgs, msg{[]byte{'h', byte(i)}, since.Add(time.Duration(i+1) * time.Second)})
	}
	for i := range 15 {
		floodMsgs = append(floodMsgs, msg{[]byte{'f', byte(i)}, since})
	}
	honestMsg := msg{[]byte("the real one"), since.Add(5 * time.Second)}
	floodMsgs = append(floodMsgs, honestMsg)
	realHash := fakeEntry(flooded, honestMsg.payload, honestMsg.ts.UnixNano()).MessageHash

	store := start(t, Config{})
	fakeStoreV3(store, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		var held []msg
		var topic string
		switch {
		case slices.Contains(req.ContentTopics, heavy):
			held, topic = heavyMsgs, heavy
		case slices.Contains(req.ContentTopics, flooded):
			held, topic = floodMsgs, flooded
		default:
			return &spb.StoreQueryResponse{}
		}
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
	cli := start(t, Config{StorePeers: addrs(store), StoreQueryRate: -1, HistoryLimit: 10})
	envs, err := cli.History(context.Background(), topics, since, time.Time{})
	got := false
	for _, e := range envs {
		if bytes.Equal(e.Hash[:], realHash) {
			got = true
		}
	}
	next := transport.ResumeAt(err, since, envs)
	t.Logf("History: %d envelopes, err %v; the message at since + 5 s returned: %v; resume at since + %v", len(envs), err, got, next.Sub(since))
	if !got && next.After(honestMsg.ts) {
		t.Errorf("the second chunk's message at since + 5 s is not in the answer and the resume point (since + %v) is past it: Sync never asks for it again", next.Sub(since))
	}
}
