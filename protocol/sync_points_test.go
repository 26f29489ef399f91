package protocol_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// syncMarginTest is the engine's syncMargin (sync.go): a Sync asks from its last sync
// minus it.
const syncMarginTest = 2 * time.Minute

// storePair is a memory node whose History, while on, answers what transport/waku's
// History answers with two store peers, per store as waku does (TestHistoryResumePerStore):
// "honest", the memory network's store bounded to limit messages an answer (cut at its
// limit-th message, complete up to it), and "liar", which sends one made-up message 1 ms
// past the point it is asked from and then stalls until its deadline (cut there). The
// error's Complete is the earliest cut, its Resume state each store's point in the chain
// (the honest store done or its cut, the liar's cut), its Asked the stores asked, its
// Sources the same points by store name ("honest", "liar"); the first call of a chain
// asks each store from its point in transport.WithSourcePoints, if later than since. It
// records where the honest store was asked from and how many envelopes it answered.
type storePair struct {
	*memory.Node
	on    atomic.Bool
	limit int
	gone  atomic.Bool // the honest store is no longer a store peer: not asked, not reported
	// crash, if set, is called (once) as the next answer is returned: the caller's Sync
	// ends before it stores anything of it (its context cancelled).
	crash  atomic.Pointer[context.CancelFunc]
	mu     sync.Mutex
	topics []string    // the last query's topics
	asks   []time.Time // where the honest store was asked from, every query
	sent   int         // envelopes the honest store answered
}

func (s *storePair) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.on.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	// The chain's Resume state: honest done (1 byte), its cut, the liar's cut (unix ns).
	honestFrom, liarFrom, honestDone := since, since, false
	if st := transport.ResumeState(ctx); len(st) == 17 {
		honestDone = st[0] == 1
		if h := time.Unix(0, int64(binary.BigEndian.Uint64(st[1:]))); h.After(since) {
			honestFrom = h
		}
		if l := time.Unix(0, int64(binary.BigEndian.Uint64(st[9:]))); l.After(since) {
			liarFrom = l
		}
	} else {
		// The first call of a chain: each store from its point of an earlier chain.
		pts := transport.SourcePointsOf(ctx)
		if h, ok := pts["honest"]; ok && h.After(since) {
			honestFrom = h
		}
		if l, ok := pts["liar"]; ok && l.After(since) {
			liarFrom = l
		}
	}
	var envs []transport.Envelope
	var honestCut time.Time // zero: answered in full
	asked := 1              // the liar
	honest := !s.gone.Load()
	if honest && !honestDone {
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
		s.mu.Lock()
		s.topics, s.asks, s.sent = slices.Clone(topics), append(s.asks, honestFrom), s.sent+len(h)
		s.mu.Unlock()
	}
	honestDone = honestDone || honestCut.IsZero()
	payload := make([]byte, 64)
	_, _ = rand.Read(payload)
	liarCut := liarFrom.Add(time.Millisecond)
	topic := slices.Min(topics)
	envs = append(envs, transport.Envelope{Topic: topic, Payload: payload, Timestamp: liarCut,
		Hash: transport.MessageHash("/waku/2/rs/16/32", topic, payload, liarCut.UnixNano())})
	slices.SortFunc(envs, func(a, b transport.Envelope) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
	complete := liarCut
	if honest && !honestDone && honestCut.Before(liarCut) {
		complete = honestCut
	}
	st := []byte{0}
	if honestDone {
		st[0] = 1
	}
	st = binary.BigEndian.AppendUint64(st, uint64(honestCut.UnixNano()))
	st = binary.BigEndian.AppendUint64(st, uint64(liarCut.UnixNano()))
	sources := []transport.SourcePoint{{Source: "liar", At: liarCut}}
	if honest {
		sources = append(sources, transport.SourcePoint{Source: "honest", Done: honestDone, At: honestCut})
	}
	if crash := s.crash.Swap(nil); crash != nil {
		(*crash)()
	}
	return envs, &transport.TruncatedError{Complete: complete, Reason: "store deadline", Resume: st, Asked: asked, Sources: sources}
}

// honestAsks returns where the honest store was asked from since the i-th query, and
// how many envelopes it answered in all.
func (s *storePair) honestAsks(i int) ([]time.Time, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asks[min(i, len(s.asks)):]), s.sent
}

// queries returns the number of queries the honest store got.
func (s *storePair) queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.asks)
}

// storedSince counts the envelopes the honest store holds on the last query's topics
// stamped at or after since (what asking it from since returns).
func (s *storePair) storedSince(t *testing.T, since time.Time) int {
	s.mu.Lock()
	topics := slices.Clone(s.topics)
	s.mu.Unlock()
	envs, err := s.Node.History(context.Background(), topics, since, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return len(envs)
}

// addPair adds b over a storePair (its store at path, ":memory:" for none on disk): it
// can restart on a file store.
func addPair(tn *testNet, name, path string, sp *storePair, opts ...protocol.Option) *peer {
	d := &chorustest.Device{Name: name}
	d.Open = func(ctx context.Context) (*protocol.Client, func(), error) {
		st, err := persistence.Open(path)
		if err != nil {
			return nil, nil, err
		}
		node := tn.net.Join(name)
		sp.Node = node
		c, err := protocol.New(ctx, st, sp, opts...)
		if err != nil {
			node.Close()
			st.Close()
			return nil, nil, err
		}
		d.Store, d.Node = st, node
		return c, func() { node.Close(); st.Close() }, nil
	}
	return tn.adopt(tn.devices().Add(d, chorustest.Create), path)
}

// pairScene is a and b in a group, b over a storePair (honest store: 4 messages an
// answer), paused (no live delivery), on a clock the test moves on.
type pairScene struct {
	tn   *testNet
	a, b *peer
	g    protocol.GroupID
	sp   *storePair
	skew *atomic.Int64
	sent []string // a's texts sent while b was paused
}

func newPairScene(t *testing.T, seed int64, path string) *pairScene {
	ctx := context.Background()
	skew := new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: seed, Now: clock}, 1, protocol.WithClock(clock))
	a := tn.peers[0]
	sp := &storePair{limit: 4}
	b := addPair(tn, "b", path, sp, protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0), protocol.WithClock(clock))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	mustSend(t, a, g, "before")
	waitTexts(t, tn, g, []string{"before"}, b)
	b.pause() // no live delivery: only history
	sp.on.Store(true)
	return &pairScene{tn: tn, a: a, b: b, g: g, sp: sp, skew: skew}
}

// away has a send n messages for window k while b is paused, then moves the clock on 10
// minutes (more than syncMargin: a Sync asks only what is new since the previous one).
func (s *pairScene) away(t *testing.T, k, n int) {
	for i := range n {
		text := fmt.Sprintf("w%d %02d", k, i)
		mustSend(t, s.a, s.g, text)
		s.sent = append(s.sent, text)
	}
	s.skew.Add(int64(10 * time.Minute))
}

// sync runs b's Sync (2 s at most) and returns its start on b's clock.
func (s *pairScene) sync(t *testing.T, k int) time.Time {
	start := time.Now().Add(time.Duration(s.skew.Load()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.b.c.Sync(ctx)
	t.Logf("b's Sync %d: err %v", k, err)
	return start
}

// missing returns a's texts b has not read.
func (s *pairScene) missing() []string {
	got := s.b.texts(s.g)
	var out []string
	for _, text := range s.sent {
		if got[text] == 0 {
			out = append(out, text)
		}
	}
	return out
}

// checkNewWindow asserts that every query the honest store got since query q (the Sync
// started at start, after a Sync started at prev) asked it from no earlier than prev -
// syncMargin, and that it answered no more than it holds from there.
func (s *pairScene) checkNewWindow(t *testing.T, k, q int, prev time.Time, sentBefore int) {
	t.Helper()
	asks, sent := s.sp.honestAsks(q)
	window := s.sp.storedSince(t, prev.Add(-syncMarginTest))
	t.Logf("Sync %d: the honest store was asked %d times, from (previous Sync's start +) %v; it answered %d envelopes, holds %d from the previous Sync's start - syncMargin",
		k, len(asks), func() (out []time.Duration) {
			for _, a := range asks {
				out = append(out, a.Sub(prev).Round(time.Millisecond))
			}
			return out
		}(), sent-sentBefore, window)
	if len(asks) == 0 {
		t.Errorf("Sync %d: the honest store was not asked", k)
	}
	for _, a := range asks {
		if a.Before(prev.Add(-syncMarginTest)) {
			t.Errorf("Sync %d asked the honest store (which answered in full in the previous Sync) from %v before the previous Sync's start: its whole window again, from the liar's cut",
				k, prev.Sub(a).Round(time.Second))
			break
		}
	}
	if sent-sentBefore > window+s.sp.limit {
		t.Errorf("Sync %d: the honest store answered %d envelopes, it holds %d of the new window", k, sent-sentBefore, window)
	}
}

// TestSyncPointsBetweenSyncs: between Syncs only the earliest store still cut short was
// kept (LastSync), so one lying store cutting its answers just past the query's start
// made every later Sync ask the honest store again for its whole window from the liar's
// cut (review 13's TestReview13LiarPacesCatchUp covers one Sync). Here b misses 6
// messages per window, four windows 10 minutes apart, and syncs after each; the honest
// store answers at most 4 messages a call, the liar one made-up message.
//
// Asserted: from the second Sync on, the honest store is asked from no earlier than the
// previous Sync's start minus syncMargin, and answers no more than the envelopes it holds
// from there (plus one answer's bound); b reads every message (the liar makes no one lose
// one).
func TestSyncPointsBetweenSyncs(t *testing.T) {
	s := newPairScene(t, 211, ":memory:")
	var prev time.Time
	for k := range 4 {
		s.away(t, k, 6)
		q, _ := s.sp.honestAsks(0)
		_, sentBefore := s.sp.honestAsks(0)
		start := s.sync(t, k)
		if k > 0 {
			s.checkNewWindow(t, k, len(q), prev, sentBefore)
		}
		prev = start
	}
	if m := s.missing(); len(m) > 0 {
		t.Errorf("b never read %d of a's %d messages: %v", len(m), len(s.sent), m)
	}
}

// TestSyncPointsKeptOverRestart: as TestSyncPointsBetweenSyncs with b stopped and
// started again (its store a file) between its Syncs.
//
// Asserted: after the restart the honest store is still asked from no earlier than the
// previous Sync's start minus syncMargin (the points are stored), and b reads every
// message.
func TestSyncPointsKeptOverRestart(t *testing.T) {
	s := newPairScene(t, 212, filepath.Join(t.TempDir(), "b.db"))
	s.away(t, 0, 6)
	prev := s.sync(t, 0)
	s.b.restart()
	s.b.pause()
	s.away(t, 1, 6)
	q := s.sp.queries()
	_, sentBefore := s.sp.honestAsks(0)
	s.sync(t, 1)
	s.checkNewWindow(t, 1, q, prev, sentBefore)
	if m := s.missing(); len(m) > 0 {
		t.Errorf("b never read %d of a's %d messages: %v", len(m), len(s.sent), m)
	}
}

// TestSyncPointsStoreGoneForgotten: a store absent from a Sync's answer (no longer a
// store peer, or failing before it was cut) loses its point: asked again later, it is
// asked from the last sync, like a new store.
//
// Asserted: the honest store, gone for the second Sync and back for the third, is asked
// in the third from before the first Sync's start (its point from the first Sync was
// forgotten), and b reads every message.
func TestSyncPointsStoreGoneForgotten(t *testing.T) {
	s := newPairScene(t, 213, ":memory:")
	s.away(t, 0, 6)
	first := s.sync(t, 0)
	s.sp.gone.Store(true)
	s.away(t, 1, 2)
	s.sync(t, 1)
	s.sp.gone.Store(false)
	q := s.sp.queries()
	s.sync(t, 2)
	asks, _ := s.sp.honestAsks(q)
	if len(asks) == 0 {
		t.Fatal("the honest store, back, was not asked")
	}
	t.Logf("the honest store, back, asked from the first Sync's start + %v", asks[0].Sub(first).Round(time.Second))
	if !asks[0].Before(first.Add(-syncMarginTest)) {
		t.Errorf("the honest store, absent from the second Sync, was asked in the third from the first Sync's start + %v: its point was kept", asks[0].Sub(first))
	}
	if m := s.missing(); len(m) > 0 {
		t.Errorf("b never read %d of a's %d messages: %v", len(m), len(s.sent), m)
	}
}

// TestSyncPointsCrashBeforeStore: a store's point is written after what its answer
// brought is stored, never before: a Sync that ends between the answer and its storing
// (here its context is cancelled as the answer in which the honest store answers the new
// window in full is returned; a crash or shutdown there) leaves the points as they were,
// and the next Sync asks the honest store for that window again.
//
// Asserted: the Sync cut off read none of the window (set-up), the next one reads all of
// it.
func TestSyncPointsCrashBeforeStore(t *testing.T) {
	s := newPairScene(t, 214, ":memory:")
	s.away(t, 0, 6)
	s.sync(t, 0)
	s.away(t, 1, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.sp.crash.Store(&cancel)
	err := s.b.c.Sync(ctx)
	t.Logf("b's Sync cut off as the answer is returned: %v", err)
	if m := s.missing(); len(m) != 3 {
		t.Fatalf("set-up: the Sync cut off as the answer was returned left %d of 3 new messages unread: %v", len(m), m)
	}
	s.sync(t, 2)
	if m := s.missing(); len(m) > 0 {
		t.Errorf("b never read %d of a's %d messages after a Sync cut off between an answer and its storing: %v", len(m), len(s.sent), m)
	}
}
