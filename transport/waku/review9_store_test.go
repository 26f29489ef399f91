package waku

import (
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
