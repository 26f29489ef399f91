package protocol_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// forgingCrawlStore is a memory node whose History, while crawl is set, answers what
// transport/waku's History answers with one honest store that answers in full and one
// lying store that sends one made-up message (on a topic of the query, stamped 1 ms past
// since: any payload, its hash computed, so waku keeps it) and then stalls until its
// deadline: the honest store's whole answer plus the made-up message, and a
// TruncatedError whose Complete is the made-up message's stamp (the earliest cut,
// TestHistoryStoreDeadline). crawlStore (review 9) answers the same error with no
// envelope at all — not what transport/waku returns: the made-up message a cut store
// sent is kept, and a new one each round is a new hash.
type forgingCrawlStore struct {
	*memory.Node
	crawl atomic.Bool
	calls atomic.Int64 // calls whose context carries ownCall (the test's own Sync)
}

func (s *forgingCrawlStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	envs, err := s.Node.History(ctx, topics, since, until)
	if err != nil || !s.crawl.Load() {
		return envs, err
	}
	if ctx.Value(ownCall{}) != nil {
		s.calls.Add(1)
	}
	select {
	case <-time.After(5 * time.Millisecond): // the liar's deadline (StoreTimeout for waku's)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	payload := make([]byte, 64)
	_, _ = rand.Read(payload)
	ts := since.Add(time.Millisecond)
	topic := slices.Min(topics)
	envs = append(envs, transport.Envelope{Topic: topic, Payload: payload, Timestamp: ts,
		Hash: transport.MessageHash("/waku/2/rs/16/32", topic, payload, ts.UnixNano())})
	slices.SortFunc(envs, func(a, b transport.Envelope) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
	return envs, &transport.TruncatedError{Complete: ts, Reason: "store deadline"}
}

// TestReview13SyncCrawlFreshForgery (review 13): fix9 stops a Sync whose truncated answer
// "brings nothing the previous one did not" (TestSyncCrawlStops), judged by envelope hash.
// But the crawling store of review 9 sends a made-up message each round (that is what gets
// it past since), and transport/waku keeps it: each answer holds one hash never seen, so
// the check never fires and the Sync loops, one resume step of 1 ms a round, each round
// fetching the honest stores' whole window again, until SyncTimeout (10 min) — and Run
// starts the next one at the next sync interval. Here b holds 30 messages of the window;
// b's Sync, given 3 s, is counted.
//
// Asserted: one Sync makes at most 3 History calls to such a store (TestSyncCrawlStops
// allows 2 for the one that sends no message).
func TestReview13SyncCrawlFreshForgery(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 131}, 1)
	a := tn.peers[0]
	cs := &forgingCrawlStore{}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { cs.Node = n; return cs },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	for i := range 30 {
		mustSend(t, a, g, "m"+string(rune('A'+i)))
	}
	tn.waitFor("b reads a's 30 messages", func() bool { return len(b.texts(g)) >= 30 })

	cs.crawl.Store(true)
	sctx, cancel := context.WithTimeout(context.WithValue(ctx, ownCall{}, true), 3*time.Second)
	defer cancel()
	began := time.Now()
	err = b.c.Sync(sctx)
	calls := cs.calls.Load()
	t.Logf("Sync against a store that forges one message a round: %d History calls in %v, err %v",
		calls, time.Since(began).Round(time.Millisecond), err)
	if calls == 0 {
		t.Fatal("set-up: the crawling store was never asked")
	}
	if calls > 3 {
		t.Errorf("one Sync made %d History calls (each the honest window again, 1 ms of progress each) to a store whose answers bring nothing but one made-up message, want at most 3", calls)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the Sync ran until its deadline (%v) instead of stopping on its own", err)
	}
}

// failingStore is a memory node whose History, while failing is set, fails at once the
// way transport/waku's does when no store answers (transport.ErrHistoryUnreachable: every
// store peer refused the dial, or the node has no connection), counting the calls.
type failingStore struct {
	*memory.Node
	failing atomic.Bool
	calls   atomic.Int64
}

func (s *failingStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.failing.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	s.calls.Add(1)
	return nil, fmt.Errorf("waku: history: %w: %w", transport.ErrHistoryUnreachable,
		errors.New("store 16U*x9Ab: failed to dial: connection refused"))
}

// TestReview13CatchUpRetryBacksOff (review 13): a failed catch-up after a subscription
// change is "tried again with a back-off from the retry base to a minute" (run.go). Since
// the catch-up runs beside the loop (sub9), the loop, on the failure, sets catchUpDue and
// arms the back-off timer, then goes round at once — and catchUpDue alone starts the next
// catch-up right there, without waiting for the timer: with History failing at once (no
// store reachable), the subscriptions loop retries back to back, each retry a store
// transaction, a History call and retryPending, for as long as the stores are away.
// Here b (retry base 2 s, periodic syncs off) is added to a group while its History fails.
//
// Asserted: b makes at most 4 History calls in 3 s (back-off 2 s, 4 s, ...: 2 expected).
func TestReview13CatchUpRetryBacksOff(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 133}, 1)
	a := tn.peers[0]
	fs := &failingStore{}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { fs.Node = n; return fs },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0), protocol.WithRetryBackoff(2*time.Second))
	tn.connect(a, b)
	fs.failing.Store(true)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	tn.waitFor("b joins", func() bool { return fs.calls.Load() > 0 })
	cpu0 := processCPUNanos()
	time.Sleep(3 * time.Second)
	calls := fs.calls.Load()
	t.Logf("History calls of b's catch-up retries within 3 s of the first (stores unreachable, retry base 2 s): %d (group %x); process CPU in those 3 s: %v",
		calls, g[:4], time.Duration(processCPUNanos()-cpu0).Round(time.Millisecond))
	if calls > 4 {
		t.Errorf("b's catch-up was retried %d times in 3 s with a retry base of 2 s: no back-off", calls)
	}
}

// pacedStore is a memory node whose History, while pace is set, answers what
// transport/waku's History answers with an honest store bounded to limit messages per
// answer (its HistoryLimit: cut at its limit-th message, complete up to that one) and a
// lying store cut 1 ms past its since (one made-up message, then silence until its
// deadline): the honest store's messages, the made-up one, and a TruncatedError whose
// Complete is the earliest cut — the liar's. Since resume points per store
// (TestHistoryResumePerStore), it does so per store as waku does: the error carries a
// Resume state (the honest store's cut, or done; the liar's cut) and the number of
// stores asked, and the call that continues with it (transport.WithResume) asks the
// honest store from its own cut — not at all once it answered in full — and the liar
// from its own. Without pace it is
// the memory node.
type pacedStore struct {
	*memory.Node
	pace  atomic.Bool
	limit int
	liar  bool // without: the honest store alone (cut at its limit-th message)
	// timed: the liar makes up 2*limit messages in the first call and every other one
	// after it, one in the others (TestResumeLiarTimesShrink).
	timed bool
	calls atomic.Int64
}

func (s *pacedStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.pace.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	s.calls.Add(1)
	// The Resume state: honest store done (1 byte), its cut, the liar's cut (unix ns).
	honestFrom, liarFrom, honestDone := since, since, false
	if st := transport.ResumeState(ctx); len(st) == 17 {
		honestDone = st[0] == 1
		if h := time.Unix(0, int64(binary.BigEndian.Uint64(st[1:]))); h.After(since) {
			honestFrom = h
		}
		if l := time.Unix(0, int64(binary.BigEndian.Uint64(st[9:]))); l.After(since) {
			liarFrom = l
		}
	}
	var envs []transport.Envelope
	var honestCut time.Time // zero: answered in full
	asked := 0              // stores asked (TruncatedError.Asked)
	if s.liar {
		asked++
	}
	if !honestDone {
		asked++
		h, err := s.Node.History(ctx, topics, honestFrom, until)
		if err != nil {
			return nil, err
		}
		if len(h) > s.limit {
			h = h[:s.limit]
			honestCut = h[len(h)-1].Timestamp
		}
		envs = h
	}
	honestDone = honestDone || honestCut.IsZero()
	state := func(liarCut time.Time) []byte {
		st := []byte{0}
		if honestDone {
			st[0] = 1
		}
		st = binary.BigEndian.AppendUint64(st, uint64(honestCut.UnixNano()))
		return binary.BigEndian.AppendUint64(st, uint64(liarCut.UnixNano()))
	}
	if !s.liar {
		if honestDone {
			return envs, nil
		}
		return envs, &transport.TruncatedError{Complete: honestCut, Reason: "message limit (HistoryLimit)", Resume: state(since), Asked: asked}
	}
	made := 1
	if s.timed && s.calls.Load()%2 == 1 {
		made = 2 * s.limit
	}
	var ts time.Time
	topic := slices.Min(topics)
	for k := range made {
		payload := make([]byte, 64)
		_, _ = rand.Read(payload)
		ts = liarFrom.Add(time.Duration(k+1) * time.Millisecond)
		envs = append(envs, transport.Envelope{Topic: topic, Payload: payload, Timestamp: ts,
			Hash: transport.MessageHash("/waku/2/rs/16/32", topic, payload, ts.UnixNano())})
	}
	slices.SortFunc(envs, func(a, b transport.Envelope) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
	complete := ts
	if !honestDone && honestCut.Before(ts) {
		complete = honestCut
	}
	return envs, &transport.TruncatedError{Complete: complete, Reason: "store deadline", Resume: state(ts), Asked: asked}
}

// TestReview13LiarPacesCatchUp (review 13): transport/waku's History reports an answer
// complete up to the earliest cut of any store, so one store cut just past since (a
// made-up message, then silence) sets the resume point of every round: 1 ms of progress a
// round, whatever the honest stores sent. An honest store whose backlog exceeds its
// HistoryLimit answers the same first HistoryLimit messages from (about) the same since
// every round, and what lies beyond them is never fetched for as long as the lying store
// keeps it up — Sync stops (fix9) or crawls (TestReview13SyncCrawlFreshForgery) at 1 ms a
// round either way. Here b misses 30 of a's messages while paused; the honest store
// answers at most 10 per History; b then syncs 3 times (each given 2 s). The same with the
// honest store alone passes (b reads all 30 in its first Sync).
//
// Asserted: b reads all 30 messages (with the lying store: 8, those among the first 10),
// and no Sync makes more than 8 History calls (resume points per store: the liar, asked
// alone once the honest store is through, made 120 000 calls in one 2 s Sync before the
// Sync stopped on an answer that shrank and brought nothing).
func TestReview13LiarPacesCatchUp(t *testing.T) {
	t.Run("honest store alone", func(t *testing.T) { liarPacesCatchUp(t, false) })
	t.Run("honest store and a lying one", func(t *testing.T) { liarPacesCatchUp(t, true) })
}

func liarPacesCatchUp(t *testing.T, liar bool) {
	ctx := context.Background()
	ps := &pacedStore{limit: 10, liar: liar}
	_, a, b, g := storeScene(t, 135, func(n *memory.Node) protocol.Transport { ps.Node = n; return ps }, []string{"before"})

	b.pause() // no live delivery: only history
	sendAway(t, a, g, 30)
	ps.pace.Store(true)
	got := func() int { return awayRead(b, g) }
	for i := range 3 {
		before := ps.calls.Load()
		err := syncWithin(ctx, b, 2*time.Second)
		calls := ps.calls.Load() - before
		t.Logf("b's Sync %d: %d of 30 read, %d History calls, err %v", i, got(), calls, err)
		if calls > 8 {
			// Per store, the honest store is through in 4 calls; the liar, asked alone
			// after that, must not keep the Sync going (a call a round until the deadline).
			t.Errorf("b's Sync %d made %d History calls, want at most 8", i, calls)
		}
	}
	if n := got(); n < 30 {
		t.Errorf("b read %d of the 30 messages it missed after 3 Syncs: a store cut 1 ms past since holds the resume point, and the honest store's answers (10 at most) never get past its first 10", n)
	}
}
