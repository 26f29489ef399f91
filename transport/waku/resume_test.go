package waku

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"

	"github.com/chorus-im/chorus/transport"
)

// TestHistoryResumePerStore (review 13 hole 3): History's Complete is the earliest cut
// of any store, and a caller continues from it; a lying store that cuts every answer
// just past since (here: one made-up message a page, 1 µs past the query's start, a
// fresh cursor each page, until the page bound cuts it) then sets where every store is
// asked from in the next call, and an honest store whose backlog exceeds its
// HistoryLimit answers its same first messages again each call. Here the honest store
// holds 25 messages one second apart (pages of 4, HistoryLimit 10: cut at its 12th);
// the caller continues 4 times from ResumeAt, passing back the error's Resume state
// (WithResume).
//
// Asserted: after the first call the honest store is asked from its own cut, never
// from the lying store's; all 25 of its messages are read within the calls; once it
// has answered in full it is not asked again (Asked: 2 stores, then 1); Complete is
// never past an honest message not yet returned (it stays at the lying store's cut).
func TestHistoryResumePerStore(t *testing.T) {
	const held, limit = 25, 10
	from := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return from.Add(time.Duration(i+1) * time.Second) }
	honest, liar, asked := honestAndLiar(t, held, at)
	cli := start(t, Config{StorePeers: addrs(honest, liar), StoreQueryRate: -1, HistoryLimit: limit})

	read := map[byte]bool{} // the honest messages returned so far
	since := from
	var state []byte
	for call := range 4 {
		envs, err := cli.History(transport.WithResume(context.Background(), state), []string{topicA}, since, time.Time{})
		if err != nil && !errors.Is(err, transport.ErrHistoryTruncated) {
			t.Fatalf("call %d: %v", call, err)
		}
		for _, e := range envs {
			if len(e.Payload) == 2 && e.Payload[0] == 'h' {
				read[e.Payload[1]] = true
			}
		}
		next := transport.ResumeAt(err, since, envs)
		for i := range held {
			if !read[byte(i)] && !at(i).After(next) && err != nil {
				t.Errorf("call %d: resume point since + %v is past honest message %d (since + %v), not yet returned", call, next.Sub(from), i, at(i).Sub(from))
			}
		}
		t.Logf("call %d from since + %v: %d envelopes, %d of %d honest messages read, %d stores asked, err %v",
			call, since.Sub(from), len(envs), len(read), held, transport.AskedOf(err), err)
		if want := 2 - min(call/3, 1); err != nil && transport.AskedOf(err) != want {
			t.Errorf("call %d: Asked = %d, want %d (the honest store done after call 2)", call, transport.AskedOf(err), want)
		}
		if err == nil {
			break
		}
		since, state = next, transport.ResumeOf(err)
	}
	t.Logf("the honest store was asked from: %v", func() (out []time.Duration) {
		for _, a := range asked() {
			out = append(out, a.Sub(from))
		}
		return out
	}())
	if len(read) != held {
		t.Errorf("%d of the honest store's %d messages read in 4 calls: the lying store's cut set where it was asked from", len(read), held)
	}
	// Asked from since, then from its own cuts (12th, 23rd message: 2 pages of 4 past
	// the repeated one), then done: 3 queries, never more.
	want := []time.Time{from, at(11), at(22)}
	if got := asked(); len(got) > len(want) {
		t.Errorf("the honest store was asked %d times, want %d (not again once it answered in full)", len(got), len(want))
	}
	for i, a := range asked() {
		if i < len(want) && !a.Equal(want[i]) {
			t.Errorf("query %d to the honest store from since + %v, want since + %v (its own cut)", i, a.Sub(from), want[i].Sub(from))
		}
	}
}

// TestResumeStateChecked: a Resume state handed back is used only for the query it was
// made for, from its Complete on; a malformed one (cut anywhere, any byte changed) is
// ignored or decodes to points of the same stores, never a panic.
func TestResumeStateChecked(t *testing.T) {
	topics := []string{"/a/1/x/proto", "/b/1/y/proto"}
	base := time.Now().Truncate(time.Second)
	st := resumeState{complete: base.UnixNano(), stores: map[peer.ID]storePoint{
		"peer-one": {at: base.Add(time.Minute).UnixNano()}, "peer-two": {done: true}, "": {at: base.UnixNano()}}}
	b := encodeResume(topics, time.Time{}, st)
	got := decodeResume(b, topics, base, time.Time{})
	if len(got) != 3 || got["peer-one"] != st.stores["peer-one"] || !got["peer-two"].done || got[""].at != base.UnixNano() {
		t.Fatalf("decoded %v, want %v", got, st.stores)
	}
	for name, m := range map[string]map[peer.ID]storePoint{
		"other topics":          decodeResume(b, topics[:1], base, time.Time{}),
		"other until":           decodeResume(b, topics, base, base.Add(time.Hour)),
		"since before it":       decodeResume(b, topics, base.Add(-time.Nanosecond), time.Time{}),
		"zero since":            decodeResume(b, topics, time.Time{}, time.Time{}),
		"other version":         decodeResume(append([]byte{9}, b[1:]...), topics, base, time.Time{}),
		"trailing byte":         decodeResume(append(slices.Clone(b), 0), topics, base, time.Time{}),
		"none":                  decodeResume(nil, topics, base, time.Time{}),
		"cut inside the stores": decodeResume(b[:len(b)-3], topics, base, time.Time{}),
	} {
		if m != nil {
			t.Errorf("%s: decoded %v, want nil (every store asked from since)", name, m)
		}
	}
	if decodeResume(b, topics, base.Add(time.Hour), time.Time{}) == nil {
		t.Error("a since after its Complete: state ignored, want used")
	}
	for i := range b {
		for _, bit := range []byte{1, 0x80} {
			c := slices.Clone(b)
			c[i] ^= bit
			if m := decodeResume(c, topics, base.Add(time.Hour), time.Time{}); len(m) > 3 {
				t.Errorf("byte %d changed: %d stores decoded from a state of 3", i, len(m))
			}
		}
		_ = decodeResume(b[:i], topics, base, time.Time{})
	}
}

// TestHistoryResumeFailingStoreHolds: a store cut short in one call of a chain that
// fails in the next (here: never answers again, cut by its deadline) may still hold
// messages after its cut; the next call's answer is not complete past that cut, even
// though the only other store answered in full earlier (and is not asked again).
//
// Asserted: the second call returns a TruncatedError whose Complete is not past the
// failing store's cut (before: no error, the chain complete).
func TestHistoryResumeFailingStoreHolds(t *testing.T) {
	const held = 25
	from := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return from.Add(time.Duration(i+1) * time.Second) }
	var queries atomic.Int64
	flaky := start(t, Config{})
	fakeStoreV3(flaky, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0])
		} else if queries.Add(1) > 1 {
			time.Sleep(2 * time.Second) // gone silent after its first answer
			return &spb.StoreQueryResponse{}
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
	empty := start(t, Config{})
	fakeStoreV3(empty, func(*spb.StoreQueryRequest) *spb.StoreQueryResponse { return &spb.StoreQueryResponse{} })
	cli := start(t, Config{StorePeers: addrs(flaky, empty), StoreQueryRate: -1, HistoryLimit: 10, StoreTimeout: 500 * time.Millisecond})

	envs, err := cli.History(context.Background(), []string{topicA}, from, time.Time{})
	var te *transport.TruncatedError
	if !errors.As(err, &te) || !te.Complete.Equal(at(11)) {
		t.Fatalf("first call: %d envelopes, err %v; want truncated at the flaky store's 12th message", len(envs), err)
	}
	since := transport.ResumeAt(err, from, envs)
	envs, err = cli.History(transport.WithResume(context.Background(), te.Resume), []string{topicA}, since, time.Time{})
	next := transport.ResumeAt(err, since, envs)
	t.Logf("second call (the flaky store silent): %d envelopes, err %v, resume at since + %v", len(envs), err, next.Sub(from))
	if err == nil {
		t.Fatal("the second call reports the chain complete: the flaky store's messages after its cut (13 of 25) are never asked for")
	}
	if next.After(at(12)) {
		t.Errorf("resume point since + %v is past the flaky store's unread message at since + %v", next.Sub(from), at(12).Sub(from))
	}
}

// FuzzDecodeResume: any bytes handed back as a Resume state decode without panicking, to
// nil or to at most one point per store; a decoded state encodes again to one that decodes
// to the same points.
func FuzzDecodeResume(f *testing.F) {
	topics := []string{"/a/1/x/proto", "/b/1/y/proto"}
	base := time.Unix(1_700_000_000, 0)
	f.Add(encodeResume(topics, time.Time{}, resumeState{complete: base.UnixNano(), stores: map[peer.ID]storePoint{
		"peer-one": {at: base.Add(time.Minute).UnixNano()}, "peer-two": {done: true}, "": {at: base.UnixNano()}, "aside": {done: true, aside: true}}}))
	f.Add(encodeResume(topics, time.Time{}, resumeState{complete: base.UnixNano()}))
	f.Add([]byte{resumeVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := decodeResume(b, topics, base.Add(time.Hour), time.Time{})
		if m == nil {
			return
		}
		again := decodeResume(encodeResume(topics, time.Time{}, resumeState{complete: base.UnixNano(), stores: m}), topics, base.Add(time.Hour), time.Time{})
		if len(again) != len(m) {
			t.Fatalf("re-encoded state decodes to %d stores, want %d", len(again), len(m))
		}
		for p, sp := range m {
			if again[p] != sp {
				t.Fatalf("store %q: %+v after a round trip, want %+v", p, again[p], sp)
			}
		}
	})
}

// honestAndLiar starts the two stores of TestHistoryResumePerStore: an honest one holding
// held messages at at(0), at(1), … (pages of 4), which records the TimeStart of each query
// it gets (its first page), and a lying one that cuts each answer 1 µs past where it is
// asked from (one made-up message a page). asked returns the honest store's TimeStarts.
func honestAndLiar(t *testing.T, held int, at func(int) time.Time) (honest, liar *Node, asked func() []time.Time) {
	var mu sync.Mutex
	var starts []time.Time
	honest = start(t, Config{})
	fakeStoreV3(honest, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[0])
		} else {
			mu.Lock()
			starts = append(starts, time.Unix(0, req.GetTimeStart()))
			mu.Unlock()
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
	liar = start(t, Config{})
	fakeStoreV3(liar, func(req *spb.StoreQueryRequest) *spb.StoreQueryResponse {
		i := 0
		if len(req.PaginationCursor) > 0 {
			i = int(req.PaginationCursor[1])
		}
		cursor := make([]byte, 32)
		cursor[0], cursor[1] = 'L', byte(i+1)
		ts := req.GetTimeStart() + int64(i+1)*int64(time.Microsecond)
		return &spb.StoreQueryResponse{Messages: []*spb.WakuMessageKeyValue{
			fakeEntry(req.ContentTopics[0], []byte{'l', byte(i), byte(ts), byte(ts >> 8)}, ts)}, PaginationCursor: cursor}
	})
	asked = func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(starts)
	}
	return honest, liar, asked
}
