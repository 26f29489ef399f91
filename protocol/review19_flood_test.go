package protocol_test

import (
	"context"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// pagedStore is an honest store answering at most limit envelopes a call (cut short at
// the last one's time, asked from there next), when on.
type pagedStore struct {
	*memory.Node
	on    atomic.Bool
	limit int
	calls atomic.Int64
}

func (s *pagedStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	h, err := s.Node.History(ctx, topics, since, until)
	if err != nil || !s.on.Load() {
		return h, err
	}
	s.calls.Add(1)
	if len(h) <= s.limit {
		return h, nil
	}
	h = h[:s.limit]
	return h, &transport.TruncatedError{Complete: h[len(h)-1].Timestamp, Reason: "page limit", Asked: 1}
}

// TestReview19FloodCutNoRetry: f804a2e ends a Sync after 64 truncated answers in a row (or
// 16,384 envelopes) that brought nothing taken, "delayed, never skipped: the next Sync
// (Run's retry, or the periodic one) goes on from there". Run has no retry for its own
// Syncs (syncs: one at the start, then one per sync interval; syncBounded only logs the
// error), so with periodic syncs off (WithSyncInterval(-1), a documented setting) the
// Sync that starts Run is the only one, and what lies past the budget is never fetched;
// with the default interval it is fetched a minute later per budget. Junk anyone
// publishes on b's inbox topic while b is away — 3,000 envelopes, an honest store
// answering 40 a call (75 pages, past the 64-answer budget) — in front of a's Welcome to
// a new group: before f804a2e one Sync crossed it (TestSyncPastFlood: "a flood is new
// each round, so it is crossed in one Sync").
//
// Asserted: b, started after the flood with periodic syncs off, joins the group within
// 5 s.
func TestReview19FloodCutNoRetry(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 1903}, 1)
	a := tn.peers[0]
	s := &pagedStore{limit: 40}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { s.Node = n; return s },
		protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	must(t, b.c.Sync(ctx))
	b.pause()
	pub, err := hex.DecodeString(strings.TrimPrefix(b.id, "0x"))
	must(t, err)
	junk := tn.net.Join("junk")
	defer junk.Close()
	const flood = 3000
	for i := range flood {
		if _, err := junk.Publish(ctx, topics.InboxTopic(pub), []byte{1, byte(i), byte(i >> 8), 7, 7, 7}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := a.c.CreateGroup(ctx, "behind the flood", "", b.id)
	must(t, err)
	time.Sleep(100 * time.Millisecond)
	s.on.Store(true)
	start := time.Now()
	b.dev.Run = chorustest.Start(context.Background(), b.c, b.dev.Events)
	b.refresh()
	joined := false
	for time.Since(start) < 5*time.Second {
		if _, err := b.c.Group(ctx, g); err == nil {
			joined = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("b started behind %d junk envelopes (pages of %d): joined %v after %v, %d History calls",
		flood, s.limit, joined, time.Since(start).Round(time.Millisecond), s.calls.Load())
	if !joined {
		t.Errorf("b, started with periodic syncs off behind %d junk envelopes on its inbox (an honest store, %d a call), did not join the group behind them within 5 s (%d History calls): Run's Sync stopped at the fruitless budget and nothing resumed it",
			flood, s.limit, s.calls.Load())
	}
}
