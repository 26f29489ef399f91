package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview9CatchUpRetriedStoresUnreachable (review 9): retry9 retries a failed catch-up
// after a subscription change, except when the error is transport.ErrNoHistory ("final":
// no store at all). But the Waku transport's History failed with ErrNoHistory whenever no
// store answered (now transport.ErrHistoryUnreachable, which wraps it) — every store peer unreachable for a moment, or cut by its deadline with
// nothing (transport/waku History: "waku: history: %w: %w", ErrNoHistory, the stores'
// errors; TestHistoryStoreSilent asserts it) — so on the real transport the commonest
// failure is never retried, and the backlog of the dropped subscription is lost (syncs
// off) or waits for the next periodic sync. As TestResubscribeCatchUpRetried, with
// History failing twice the way transport/waku fails when its one store peer is
// unreachable.
//
// Asserted: b reads the message that waited in its old subscription (Run retries).
func TestReview9CatchUpRetriedStoresUnreachable(t *testing.T) {
	wakuErr := fmt.Errorf("waku: history: %w: %w", transport.ErrHistoryUnreachable,
		errors.New("store 16U*x9Ab: failed to dial: context deadline exceeded"))
	resubscribeKeepsBacklogWith(t, 2, wakuErr)
}

// futureCutStore is a memory node whose History, while armed, answers once in full but
// truncated at a time far in the future (what transport/waku's History returns when one
// store peer sends one message stamped there and then stalls until its StoreTimeout:
// Complete is the earliest cut of any store, a cut store's being its last message kept —
// TestHistoryStoreDeadline asserts Complete is a made-up message's time; no bound on
// stamps — while the honest stores answer in full), then
// fails once (the stores unreachable, a SyncTimeout, a shutdown, a crash: Sync ends
// before its loop completes).
type futureCutStore struct {
	*memory.Node
	cuts, fails atomic.Int64
	future      time.Time
}

func (s *futureCutStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if s.cuts.Add(-1) >= 0 {
		envs, err := s.Node.History(ctx, topics, since, until)
		if err != nil {
			return nil, err
		}
		return envs, &transport.TruncatedError{Complete: s.future, Reason: "message limit (HistoryLimit)"}
	}
	s.cuts.Store(0)
	if s.fails.Add(-1) >= 0 {
		return nil, errors.New("test: store unreachable")
	}
	s.fails.Store(0)
	return s.Node.History(ctx, topics, since, until)
}

// TestReview9FutureResumePoint (review 9): Sync keeps the progress of a truncated History
// answer by storing LastSync = ResumeAt + syncMargin for every topic of the query, with no
// bound: a resume point in the future (a store node's — or any publisher's — made-up
// stamps; the honest stores' answers were complete) is stored as it is. If that Sync then
// ends early (the next History fails, SyncTimeout, shutdown or crash), every later Sync
// of those topics starts in the future and, answered in full from there (nothing), sets
// LastSync to its own start: what was published between the Sync cut short and that one
// (older than syncMargin) is never fetched from history. Here b's Sync gets an answer
// truncated 10 years ahead, then fails; a sends while b is not running; an hour later
// b's Syncs (the store healthy) never fetch it.
//
// Asserted: b, syncing after the message was sent, reads it.
func TestReview9FutureResumePoint(t *testing.T) {
	ctx := context.Background()
	var skew atomic.Int64 // the clock of the network and of both clients: time.Now + skew
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: 91, Now: clock}, 1, protocol.WithClock(clock))
	a := tn.peers[0]
	fs := &futureCutStore{future: time.Now().AddDate(10, 0, 0)}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { fs.Node = n; return fs },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0), protocol.WithClock(clock))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	mustSend(t, a, g, "before")
	waitTexts(t, tn, g, []string{"before"}, b)

	b.pause() // b's Run stops: no live delivery, only history
	fs.cuts.Store(1)
	fs.fails.Store(1)
	err = b.c.Sync(ctx)
	t.Logf("b's Sync (answer truncated at +10 years, then the store unreachable): %v", err)
	if fs.cuts.Load() != 0 {
		t.Fatalf("set-up: History not called as planned (cuts left %d)", fs.cuts.Load())
	}
	// A Sync that stops at the future cut (complete up to its start) never makes the
	// failing call; on the code this test caught, it did.
	fs.fails.Store(0)
	mustSend(t, a, g, "while b is away")
	skew.Add(int64(time.Hour)) // b is away for an hour
	for i := range 3 {
		if err := b.c.Sync(ctx); err != nil {
			t.Logf("b's Sync %d: %v", i, err)
		}
		if b.texts(g)["while b is away"] > 0 {
			return
		}
	}
	t.Fatalf("b never fetched the message sent after its Sync was cut at a future resume point (has %v)", b.texts(g))
}

// crawlStore is a memory node whose History, while crawl is set, answers nothing new but
// truncated 1 ms past the query's since, after a short wait (a store node that answers
// each query with one made-up message stamped just past since and then stalls until its
// StoreTimeout: transport/waku cuts it there and reports a TruncatedError at that
// message, TestHistoryStoreDeadline; the honest stores' answers are complete); and whose
// Publish fails while failPub is set.
type crawlStore struct {
	*memory.Node
	crawl, failPub atomic.Bool
	calls          atomic.Int64
	own            atomic.Int64 // calls whose context carries ownCall (a test's own Sync)
}

// ownCall marks a context as the test's own call (crawlStore.own).
type ownCall struct{}

func (s *crawlStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.crawl.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	s.calls.Add(1)
	if ctx.Value(ownCall{}) != nil {
		s.own.Add(1)
	}
	select {
	case <-time.After(20 * time.Millisecond): // StoreTimeout (2 min) for waku's
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return nil, &transport.TruncatedError{Complete: since.Add(time.Millisecond), Reason: "store deadline"}
}

func (s *crawlStore) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	if s.failPub.Load() {
		return [32]byte{}, errors.New("test: publish failed")
	}
	return s.Node.Publish(ctx, topic, payload)
}

// TestReview9SyncHoldsMaintenance (review 9): SyncTimeout (10 min) bounds each Sync that
// Run makes "so a store that keeps answering cannot hold Run's maintenance (publish
// retries, prekey upkeep) for good". But one store peer that keeps each History truncated
// just past its since (one made-up message a round, then silence until its deadline:
// about 5 rounds of StoreTimeout in SyncTimeout) keeps every Sync looping until
// SyncTimeout, and maintenance starts the next Sync as soon as one ends (the sync
// interval, 1 min by default, has passed): publish retries, announcements and prekey
// upkeep run once every 10 minutes instead of every retry tick, for as long as the store
// keeps it up. Here b's periodic Sync crawls; a message of b's whose publish failed once
// is not retried within 10 s (retry base 20 ms).
//
// Asserted: a reads b's message within 10 s (b's outbox retried while a Sync crawls).
func TestReview9SyncHoldsMaintenance(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 93}, 1)
	a := tn.peers[0]
	cs := &crawlStore{}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { cs.Node = n; return cs },
		protocol.WithRetryBackoff(20*time.Millisecond), protocol.WithSyncInterval(100*time.Millisecond), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	mustSend(t, b, g, "before")
	waitTexts(t, tn, g, []string{"before"}, a)

	cs.crawl.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for cs.calls.Load() < 5 { // b's periodic Sync is crawling
		if time.Now().After(deadline) {
			t.Fatalf("set-up: b's Run made %d History calls", cs.calls.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cs.failPub.Store(true)
	mustSend(t, b, g, "retried")
	cs.failPub.Store(false)
	deadline = time.Now().Add(10 * time.Second)
	for a.texts(g)["retried"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("b's message whose publish failed was not retried within 10 s while b's Sync crawled (%d History calls of one Sync)", cs.calls.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("retried while b's Sync crawled (%d History calls)", cs.calls.Load())
}
