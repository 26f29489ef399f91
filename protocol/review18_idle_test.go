package protocol_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// liarMore is a storePair whose liar adds extra made-up messages (new random payloads, at
// its cut) to every answer: what a lying store pays to make each answer more than "tiny"
// (2 envelopes per store asked, sync.go's idle rule).
type liarMore struct {
	*storePair
	extra int
	calls atomic.Int64
}

func (l *liarMore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	envs, err := l.storePair.History(ctx, topics, since, until)
	if !l.on.Load() {
		return envs, err
	}
	l.calls.Add(1)
	var te *transport.TruncatedError
	if !errors.As(err, &te) || len(envs) == 0 {
		return envs, err
	}
	cut := te.Complete
	for _, e := range envs { // the liar's envelope is the one at its cut (the latest)
		if e.Timestamp.After(cut) {
			cut = e.Timestamp
		}
	}
	topic := slices.Min(topics)
	for range l.extra {
		p := make([]byte, 64)
		_, _ = rand.Read(p)
		envs = append(envs, transport.Envelope{Topic: topic, Payload: p, Timestamp: cut,
			Hash: transport.MessageHash("/waku/2/rs/16/32", topic, p, cut.UnixNano())})
	}
	return envs, err
}

// TestReview18LiarThreeHoldsQuietSync: review 16's fix counts an answer towards the idle
// stop only if it holds at most 2 envelopes per store asked, and says a liar keeping a
// quiet Sync open "must then send full pages, a flood's cost". It need not: with the
// honest store done at its first call (its point kept, nothing new), the liar asked alone
// answers 3 made-up messages 1 ms past its point a call — 3 > 2·1, so the answer is not
// tiny, nothing repeats (new hashes), and 3 is not fewer than half of the previous 3 — and
// the Sync goes on, a History call and a progress transaction a round, until its
// context ends (Run: SyncTimeout, 10 minutes). TestReview15LiarHoldsQuietSync's scene, the
// liar's answers 3 envelopes of 64 bytes instead of 1.
//
// Asserted: the quiet Sync ends on its own (not by its 3 s deadline) within 1 s.
func TestReview18LiarThreeHoldsQuietSync(t *testing.T) {
	ctx := context.Background()
	skew := new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: 1801, Now: clock}, 1, protocol.WithClock(clock))
	a := tn.peers[0]
	sp := &storePair{limit: 4}
	lm := &liarMore{storePair: sp, extra: 2}
	b := addLiarMore(tn, "b", lm, protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0), protocol.WithClock(clock))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	mustSend(t, a, g, "before")
	waitTexts(t, tn, g, []string{"before"}, b)
	b.pause()
	sp.on.Store(true)
	s := &pairScene{tn: tn, a: a, b: b, g: g, sp: sp, skew: skew}
	s.away(t, 0, 6)
	s.sync(t, 0)
	if m := s.missing(); len(m) > 0 {
		t.Fatalf("set-up: b's first Sync left %d messages unread: %v", len(m), m)
	}
	skew.Add(int64(time.Minute)) // a minute later, nothing new
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	calls0 := lm.calls.Load()
	start := time.Now()
	err = b.c.Sync(sctx)
	took := time.Since(start)
	t.Logf("quiet Sync (the liar answering 3 made-up messages a call): %v in %v, %d History calls", err, took.Round(time.Millisecond), lm.calls.Load()-calls0)
	if errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("a Sync with nothing new, the honest store done at its first call, ran %v until %v (%d History calls): a liar answering 3 made-up messages a call held it open",
			took.Round(time.Millisecond), err, lm.calls.Load()-calls0)
	}
}

// addLiarMore is addPair over lm (no store on disk).
func addLiarMore(tn *testNet, name string, lm *liarMore, opts ...protocol.Option) *peer {
	d := &chorustest.Device{Name: name}
	d.Open = func(ctx context.Context) (*protocol.Client, func(), error) {
		st, err := persistence.Open(":memory:")
		if err != nil {
			return nil, nil, err
		}
		node := tn.net.Join(name)
		lm.Node = node
		c, err := protocol.New(ctx, st, lm, opts...)
		if err != nil {
			node.Close()
			st.Close()
			return nil, nil, err
		}
		d.Store, d.Node = st, node
		return c, func() { node.Close(); st.Close() }, nil
	}
	return tn.adopt(tn.devices().Add(d, chorustest.Create), ":memory:")
}

// finishingLiar is emptyBesideStore (an honest store answering at most limit messages a
// call, cut short and asked from its own cut next) whose other store lies: in the chain's
// first call it answers junk made-up messages in full (stamped inside the answer's
// complete range), and is done — every later call of the chain asks the honest store
// alone.
type finishingLiar struct {
	*memory.Node
	pace  atomic.Bool
	limit int
	junk  int
	calls atomic.Int64
}

func (s *finishingLiar) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.pace.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	s.calls.Add(1)
	from, asked := since, 2
	if st := transport.ResumeState(ctx); len(st) == 8 {
		asked = 1 // the liar answered in full in the chain's first call
		if h := time.Unix(0, int64(binary.BigEndian.Uint64(st))); h.After(since) {
			from = h
		}
	}
	h, err := s.Node.History(ctx, topics, from, until)
	if err != nil {
		return nil, err
	}
	cut := time.Time{} // zero: the honest store answered in full
	if len(h) > s.limit {
		h = h[:s.limit]
		cut = h[len(h)-1].Timestamp
	}
	if asked == 2 && s.junk > 0 {
		end := cut
		if end.IsZero() {
			end = time.Now()
		}
		topic := slices.Min(topics)
		step := end.Sub(since) / time.Duration(s.junk+1)
		for i := range s.junk {
			p := make([]byte, 64)
			_, _ = rand.Read(p)
			at := since.Add(time.Duration(i+1) * step)
			h = append(h, transport.Envelope{Topic: topic, Payload: p, Timestamp: at,
				Hash: transport.MessageHash("/waku/2/rs/16/32", topic, p, at.UnixNano())})
		}
		slices.SortFunc(h, func(a, b transport.Envelope) int {
			if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
				return c
			}
			return slices.Compare(a.Hash[:], b.Hash[:])
		})
	}
	if cut.IsZero() {
		return h, nil
	}
	return h, &transport.TruncatedError{Complete: cut, Reason: "message limit (HistoryLimit)",
		Resume: binary.BigEndian.AppendUint64(nil, uint64(cut.UnixNano())), Asked: asked}
}

// TestReview18LiarFinishesShrinkCutsBacklog: the shrink rule ends a Sync on a truncated
// answer from which nothing was taken, holding fewer than half the envelopes of the
// previous one, from a call that asked fewer stores than an earlier one; "only sources
// finishing count" (TestResumeLiarTimesShrink) is to keep a lying store from timing a full
// answer and a small one. But a liar can finish: it answers a full page of made-up
// messages in the chain's first call, in full (done), and is not asked again — every later
// call asks fewer stores, and the honest store's next page (10 envelopes already taken
// live) is fewer than half of the first answer (10 + 100). TestReview16IdleStopHonestBacklog's
// scene (b took 45 messages live, missed 10; the honest store answers 10 a call) with the
// empty store replaced by one answering 100 made-up messages once per Sync.
//
// Asserted: one Sync reads the 10 messages b missed.
func TestReview18LiarFinishesShrinkCutsBacklog(t *testing.T) {
	ctx := context.Background()
	ps := &finishingLiar{limit: 10, junk: 100}
	_, a, b, g := storeScene(t, 1804, func(n *memory.Node) protocol.Transport { ps.Node = n; return ps }, numbered("live", 45))

	b.pause() // no live delivery: only history
	sendAway(t, a, g, 10)
	ps.pace.Store(true)
	got := func() int { return awayRead(b, g) }
	err := syncWithin(ctx, b, 5*time.Second)
	n1, calls1 := got(), ps.calls.Load()
	t.Logf("b's Sync: %d of 10 read, %d History calls, err %v", n1, calls1, err)
	syncs := 1
	for ; got() < 10 && syncs < 10; syncs++ {
		_ = syncWithin(ctx, b, 5*time.Second)
	}
	t.Logf("%d Syncs to read %d of 10, %d History calls in all", syncs, got(), ps.calls.Load())
	if n1 < 10 {
		t.Errorf("one Sync read %d of the 10 messages b missed (%d History calls; %d Syncs to read them): a store answering 100 made-up messages in full in the first call ended it on the shrink rule while the honest store was still cut short",
			n1, calls1, syncs)
	}
}
