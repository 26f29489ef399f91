package protocol_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// slowReader is a memory node whose subscriptions are not read while held: what arrives
// meanwhile waits in the node's subscription queue, as for a client busy with earlier
// envelopes (the queue of a Waku node's subscription is the same, transport.QueueSize).
type slowReader struct {
	*memory.Node
	held atomic.Bool
	subs atomic.Int64
	// historyFails: while positive, History fails (a store unreachable for a moment) and
	// counts it down.
	historyFails atomic.Int64
	// failWith is the error of a failing History (nil: a plain error).
	failWith error
	// block: while set, History waits for its context to end (a store that never
	// answers, up to the caller's deadline); blocked counts such calls.
	block   atomic.Bool
	blocked atomic.Int64
}

func (s *slowReader) History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error) {
	if s.block.Load() {
		s.blocked.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.historyFails.Add(-1) >= 0 {
		if s.failWith != nil {
			return nil, s.failWith
		}
		return nil, errors.New("test: store unreachable")
	}
	s.historyFails.Store(0)
	return s.Node.History(ctx, topics, since, until)
}

func (s *slowReader) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	in, err := s.Node.Subscribe(ctx, topics)
	if err != nil {
		return nil, err
	}
	s.subs.Add(1)
	out := make(chan transport.Envelope)
	go func() {
		defer close(out)
		wait := func() bool { // until not held
			for s.held.Load() {
				select {
				case <-ctx.Done():
					return false
				case <-time.After(time.Millisecond):
				}
			}
			return true
		}
		for wait() {
			select {
			case env, ok := <-in:
				if !ok || !wait() {
					return // one taken while held is dropped with the queue, as unread
				}
				select {
				case out <- env:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// TestResubscribeKeepsBacklog: when the topics a client listens on change, Run subscribes
// the new set and drops the old subscription, with whatever it held that the client had
// not read yet. A client busy with earlier envelopes (its subscription not read) that
// leaves a group loses the messages of its other groups waiting there; only topics added
// to the set had their history fetched again, so a removal alone lost them until the next
// periodic sync (never without one). Every change of the subscription now catches up the
// whole set from its last sync.
func TestResubscribeKeepsBacklog(t *testing.T) { resubscribeKeepsBacklog(t, 0) }

// TestResubscribeCatchUpRetried: as TestResubscribeKeepsBacklog, with the store
// unreachable for the first two queries of the catch-up that follows the new
// subscription. Run retries the catch-up (back-off from the retry base, at most a minute)
// instead of waiting for a periodic sync that never comes (syncs are off here).
func TestResubscribeCatchUpRetried(t *testing.T) { resubscribeKeepsBacklog(t, 2) }

func resubscribeKeepsBacklog(t *testing.T, historyFails int64) {
	resubscribeKeepsBacklogWith(t, historyFails, nil)
}

// resubscribeKeepsBacklogWith is resubscribeKeepsBacklog with History failing with
// failWith (nil: a plain error).
func resubscribeKeepsBacklogWith(t *testing.T, historyFails int64, failWith error) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 97}, 1)
	a := tn.peers[0]
	slow := &slowReader{failWith: failWith}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { slow.Node = n; return slow }, protocol.WithRetryBackoff(20*time.Millisecond), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	h, err := a.c.CreateGroup(ctx, "h", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	waitSameEpoch(tn, h, a, b)
	ig, err := b.c.Group(ctx, g)
	must(t, err)
	ih, err := b.c.Group(ctx, h)
	must(t, err)
	if ig.Topic == ih.Topic {
		t.Fatal("set-up: the groups share a topic")
	}
	tn.settle()

	slow.held.Store(true)
	mustSend(t, a, g, "while b is busy")
	subs := slow.subs.Load()
	slow.historyFails.Store(historyFails)
	must(t, b.c.Leave(ctx, h)) // b's topics change: h's goes
	deadline := time.Now().Add(10 * time.Second)
	for slow.subs.Load() == subs {
		if time.Now().After(deadline) {
			t.Fatal("set-up: b did not subscribe again after leaving h")
		}
		time.Sleep(time.Millisecond)
	}
	slow.held.Store(false)
	// No sync from the test (waitTexts would sync): what Run does alone.
	deadline = time.Now().Add(5 * time.Second)
	for b.texts(g)["while b is busy"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("b never got the message that waited in its old subscription (has %v; store failures left %d)", b.texts(g), slow.historyFails.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestResubscribeDuringCatchUp: a catch-up that takes long (a store that does not answer,
// up to SyncTimeout) must not hold back the next change of the subscription. b joins h
// while History hangs; the catch-up of that change is still running when b joins k, and
// k's topic is subscribed at once (the catch-up was run inline in the subscription loop:
// k waited up to SyncTimeout, 10 min, its live messages unread).
func TestResubscribeDuringCatchUp(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 99}, 1)
	a := tn.peers[0]
	slow := &slowReader{}
	b := tn.addVia("b", func(n *memory.Node) protocol.Transport { slow.Node = n; return slow }, protocol.WithRetryBackoff(20*time.Millisecond), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	tn.settle()

	slow.block.Store(true)
	subs := slow.subs.Load()
	h, err := a.c.CreateGroup(ctx, "h", "", b.id)
	must(t, err)
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s (subscriptions %d, blocked History calls %d)", what, slow.subs.Load()-subs, slow.blocked.Load())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	joined := func(id protocol.GroupID) func() bool {
		return func() bool { _, err := b.c.Group(ctx, id); return err == nil }
	}
	waitUntil("set-up: b joins h", joined(h))
	waitUntil("set-up: b's catch-up after joining h hangs in History", func() bool {
		return slow.subs.Load() > subs && slow.blocked.Load() > 0
	})
	subs = slow.subs.Load()
	k, err := a.c.CreateGroup(ctx, "k", "", b.id)
	must(t, err)
	waitUntil("set-up: b joins k", joined(k))
	ik, err := b.c.Group(ctx, k)
	must(t, err)
	ih, err := b.c.Group(ctx, h)
	must(t, err)
	ig, err := b.c.Group(ctx, g)
	must(t, err)
	if ik.Topic == ih.Topic || ik.Topic == ig.Topic {
		t.Fatal("set-up: k shares a topic with h or g: no change of subscription to see")
	}
	waitUntil("b subscribes k's topic while the catch-up of h hangs", func() bool { return slow.subs.Load() > subs })
	slow.block.Store(false)
}
