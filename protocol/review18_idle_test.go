package protocol_test

import (
	"context"
	"crypto/rand"
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
