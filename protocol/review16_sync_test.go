package protocol_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// emptyBesideStore is a memory node whose History, while pace is set, answers what
// transport/waku answers with two stores: an honest one answering at most limit messages a
// call (cut short, asked from its own cut next: the Resume state) and one that holds
// nothing for the query and answers in full at once (a store that joined later, keeps a
// shorter window, or withholds: done after the chain's first call, so every later call
// asks one store — Asked 2, then 1).
type emptyBesideStore struct {
	*memory.Node
	pace  atomic.Bool
	limit int
	calls atomic.Int64
}

func (s *emptyBesideStore) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if !s.pace.Load() {
		return s.Node.History(ctx, topics, since, until)
	}
	s.calls.Add(1)
	from, asked := since, 2
	if st := transport.ResumeState(ctx); len(st) == 8 {
		asked = 1 // the empty store answered in full in the chain's first call
		if h := time.Unix(0, int64(binary.BigEndian.Uint64(st))); h.After(since) {
			from = h
		}
	}
	h, err := s.Node.History(ctx, topics, from, until)
	if err != nil {
		return nil, err
	}
	if len(h) <= s.limit {
		return h, nil
	}
	h = h[:s.limit]
	cut := h[len(h)-1].Timestamp
	return h, &transport.TruncatedError{Complete: cut, Reason: "message limit (HistoryLimit)",
		Resume: binary.BigEndian.AppendUint64(nil, uint64(cut.UnixNano())), Asked: asked}
}

// TestReview16IdleStopHonestBacklog (review 16, fix 15's stop rule): two answers in a row
// from fewer stores that took nothing end a Sync — whatever their size. With one store that
// holds nothing (done after the first call: every later call asks fewer stores) and an
// honest store cut at 10 messages a call, a client whose last Sync is older than what it
// received live gets pages of envelopes it already took from the honest store: the third
// call ends the Sync while the honest store, still cut short, holds the messages the client
// missed behind them. No lie is needed (an honest store that holds nothing for the topic
// suffices); a liar can add a made-up message a call, not changing anything. Here b reads
// 45 messages live, misses 10 while paused, then Syncs once (5 s).
//
// Asserted: that one Sync reads the 10 messages b missed (as before fix 15: the rounds go
// on while the honest store brings 10 envelopes a call). Each Sync now crosses 3 of the
// honest store's pages: a backlog of n pages already taken takes n/3 Syncs (one
// SyncInterval each) before a missed message is fetched.
func TestReview16IdleStopHonestBacklog(t *testing.T) {
	ctx := context.Background()
	ps := &emptyBesideStore{limit: 10}
	_, a, b, g := storeScene(t, 1601, func(n *memory.Node) protocol.Transport { ps.Node = n; return ps }, numbered("live", 45))

	b.pause() // no live delivery: only history
	sendAway(t, a, g, 10)
	ps.pace.Store(true)
	got := func() int { return awayRead(b, g) }
	err := syncWithin(ctx, b, 5*time.Second)
	n1, calls1 := got(), ps.calls.Load()
	t.Logf("b's Sync: %d of 10 read, %d History calls, err %v", n1, calls1, err)
	syncs := 1
	for ; got() < 10 && syncs < 8; syncs++ {
		err := syncWithin(ctx, b, 5*time.Second)
		t.Logf("b's Sync %d: %d of 10 read, %d History calls in all, err %v", syncs+1, got(), ps.calls.Load(), err)
	}
	if n1 < 10 {
		t.Errorf("one Sync read %d of the 10 messages b missed (%d History calls; %d Syncs to read %d): it ended on two answers of envelopes already taken while the honest store was still cut short",
			n1, calls1, syncs, got())
	}
}

// TestReview16ReloadCancelledContext (review 16, fix 15's reload): after a failed batch
// commit (or a batch that panicked) the caches are emptied and refilled from the store
// with the batch's context. A Sync's context whose deadline passed during the batch (a
// slow disk — the commit failing on the same disk) makes the refill's transaction refuse
// to start (persistence WithTx: ctx.Err()) after the caches were emptied: the group's topic
// is no longer among those Syncs ask (c.topics empty) until something caches the group
// again or a restart. Here the deadline is a cancel in the message hook of the batch's
// first group message, and the batch commit fails. (Before fix 15 reload's load had the
// same context: not new, but the panic path added by fix 15 reaches it too.)
//
// Asserted: after that failed Sync and one with a live context (nothing else touching the
// group in between), the three messages are read once each. Measured: 0 of 3 (the reload
// logged "context canceled"); with the cancel removed (the reload works): 3 of 3.
func TestReview16ReloadCancelledContext(t *testing.T) {
	_, a, rx, g := rxScene(t, 1602, "cancel")
	ctx := context.Background()
	rx.pause()
	info, err := a.c.Group(ctx, g)
	must(t, err)
	texts := sendThree(t, a, g)
	var fail atomic.Bool
	protocol.FailBatchCommitsForTest(rx.c, &fail)
	sctx, cancel := context.WithCancel(ctx)
	protocol.SetAttemptedHook(rx.c, func(topic string, _ []byte) {
		if topic == info.Topic {
			cancel() // the Sync's deadline passes during its batch
		}
	})
	fail.Store(true)
	err = rx.c.Sync(sctx)
	fail.Store(false)
	cancel()
	protocol.SetAttemptedHook(rx.c, nil)
	t.Logf("the Sync whose batch commit failed: %v", err)
	// Nothing touches the group before the next Sync (the app just Syncs again), and a
	// new group comes in a Welcome over the pairwise session (found by its hint).
	g2, err := a.c.CreateGroup(ctx, "after", "", rx.id)
	must(t, err)
	if err := rx.c.Sync(ctx); err != nil {
		t.Errorf("the next Sync: %v", err)
	}
	if _, err := rx.c.Group(ctx, g2); err != nil {
		t.Errorf("after a failed batch commit with the Sync's context done and a Sync, the group a created since (its Welcome on the pairwise session): %v", err)
	}
	got := rx.texts(g)
	for _, s := range texts {
		if got[s] != 1 {
			t.Errorf("after a failed batch (its context done) and another Sync: %q read %d times, want 1 (has %v)", s, got[s], got)
		}
	}
	if err := protocol.CheckHotViews(rx.c); err != nil {
		t.Errorf("the views differ from the store: %v", err)
	}
}

// TestReview16IdleStopFlood: TestReview16IdleStopHonestBacklog with the pages no message
// is taken from being a flood — junk anyone who sees the group topic publishes (a removed
// member, a relay peer) — rather than envelopes taken live: one Sync crosses 3 pages of
// it beside a store that holds nothing, so the flood's size sets how many Syncs (periodic:
// one SyncInterval each) pass before a message behind it is read. Before fix 15 a flood
// was crossed in one Sync (review 13: "a flood is new each round"). b misses 10 messages
// behind 100 junk envelopes on the group topic; the honest store answers 10 a call.
//
// Asserted: one Sync reads the 10. Measured: 0 of 10 after 3 History calls, 4 Syncs to read
// them (13 calls); with the idle rule disabled one Sync reads the 10 (13 calls).
func TestReview16IdleStopFlood(t *testing.T) {
	ctx := context.Background()
	ps := &emptyBesideStore{limit: 10}
	tn, a, b, g := storeScene(t, 1603, func(n *memory.Node) protocol.Transport { ps.Node = n; return ps }, []string{"first"})
	info, err := a.c.Group(ctx, g)
	must(t, err)
	b.pause()
	junk := tn.net.Join("junk")
	defer junk.Close()
	for i := range 100 {
		if _, err := junk.Publish(ctx, info.Topic, []byte{1, byte(i), 7, 7, 7, 7}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	sendAway(t, a, g, 10)
	ps.pace.Store(true)
	got := func() int { return awayRead(b, g) }
	err = syncWithin(ctx, b, 5*time.Second)
	n1, calls1 := got(), ps.calls.Load()
	t.Logf("b's Sync: %d of 10 read, %d History calls, err %v", n1, calls1, err)
	syncs := 1
	for ; got() < 10 && syncs < 10; syncs++ {
		_ = syncWithin(ctx, b, 5*time.Second)
	}
	t.Logf("%d Syncs to read %d of 10, %d History calls in all", syncs, got(), ps.calls.Load())
	if n1 < 10 {
		t.Errorf("one Sync read %d of the 10 messages behind 100 junk envelopes (%d History calls; %d Syncs to read them): it ended on two answers of junk while the honest store was still cut short",
			n1, calls1, syncs)
	}
}
