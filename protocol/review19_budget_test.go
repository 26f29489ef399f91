package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// spacingLiar is a lying store, b's only one, that needs no account: it answers each call
// with junk made-up envelopes on the group's topic just past since, cut short, and every
// every-th call adds one genuine envelope of b's backlog (what any store holds of b's
// topics), restamped at its cut.
type spacingLiar struct {
	*memory.Node
	on      atomic.Bool
	topic   string
	junk    int
	every   int
	mu      sync.Mutex
	backlog []transport.Envelope
	calls   atomic.Int64
	junkN   atomic.Int64
}

func (l *spacingLiar) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !l.on.Load() {
		return l.Node.History(ctx, topics, since, until)
	}
	n := l.calls.Add(1)
	cut := since.Add(time.Millisecond)
	envs := make([]transport.Envelope, 0, l.junk+1)
	for range l.junk {
		p := make([]byte, 64)
		_, _ = rand.Read(p)
		envs = append(envs, transport.Envelope{Topic: l.topic, Payload: p, Timestamp: cut,
			Hash: transport.MessageHash("/waku/2/rs/16/32", l.topic, p, cut.UnixNano())})
	}
	l.junkN.Add(int64(l.junk))
	l.mu.Lock()
	if l.every > 0 && n%int64(l.every) == 0 && len(l.backlog) > 0 {
		e := l.backlog[0]
		l.backlog = l.backlog[1:]
		e.Timestamp = cut
		e.Hash = transport.MessageHash("/waku/2/rs/16/32", e.Topic, e.Payload, cut.UnixNano())
		envs = append(envs, e)
	}
	l.mu.Unlock()
	return envs, &transport.TruncatedError{Complete: cut, Reason: "message limit (HistoryLimit)", Asked: 1}
}

// TestReview19BacklogSpacedHoldsSync: f804a2e bounds what a Sync spends on truncated
// answers that bring nothing taken — 64 answers in a row, 16,384 envelopes — "a lying store
// costs each Sync that budget at most". The budget starts again at every answer from which
// something was taken, and a store needs no account to bring one: b's own backlog (20
// messages a sent while b was away) is what any store holds. A store answering 256
// made-up envelopes a call and handing out one backlog message every 60th call keeps the
// Sync going 60 answers (15,360 junk envelopes) per message it held back anyway, and
// delays the backlog by as much.
//
// Asserted: one Sync spends at most twice the budget on answers that brought nothing
// (History calls beyond the 20 that brought a message ≤ 2·65), whatever the liar spaces out.
func TestReview19BacklogSpacedHoldsSync(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 1902}, 1)
	a := tn.peers[0]
	l := &spacingLiar{junk: 256, every: 60}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { l.Node = n; return l },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	mustSend(t, a, g, "before")
	waitTexts(t, tn, g, []string{"before"}, b)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	l.topic = info.Topic

	b.pause()
	away := time.Now()
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("away %02d", i))
		mustSend(t, a, g, want[i])
	}
	backlog, err := l.Node.History(ctx, []string{info.Topic}, away, time.Time{})
	must(t, err)
	l.backlog = backlog
	t.Logf("b's backlog in the store: %d envelopes", len(backlog))
	got := func() int { return awayRead(b, g) }
	l.on.Store(true)
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	err = b.c.Sync(sctx)
	took := time.Since(start)
	calls := l.calls.Load()
	t.Logf("one Sync, the liar spacing %d backlog envelopes one per %d answers of %d made-up envelopes: %v in %v, %d History calls, %d made-up envelopes, %d of 20 read",
		len(backlog), l.every, l.junk, err, took.Round(time.Millisecond), calls, l.junkN.Load(), got())
	if fruitless := calls - int64(len(backlog)); fruitless > 2*65 {
		t.Errorf("one Sync made %d History calls (%d made-up envelopes, %v) for %d backlog envelopes the liar spaced out: %d answers that brought nothing, past twice the fruitless budget (64 answers, 16,384 envelopes)",
			calls, l.junkN.Load(), took.Round(time.Millisecond), len(backlog), fruitless)
	}
}
