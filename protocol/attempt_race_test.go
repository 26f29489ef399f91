package protocol_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// published records every publish of a memory network (memory.Config.Tap), with its
// publisher's name.
type published struct {
	mu   sync.Mutex
	pubs []publishedEnv
}

type publishedEnv struct {
	from string
	env  transport.Envelope
}

func (p *published) tap(from string, env transport.Envelope) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pubs = append(p.pubs, publishedEnv{from, env})
}

// since returns the publishes from index i on, and the index after them.
func (p *published) since(i int) ([]publishedEnv, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]publishedEnv(nil), p.pubs[i:]...), len(p.pubs)
}

// interleave has fn run once, the first time c's attempt of payload has released the
// engine's locks (as another goroutine's work may run there: the subscriptions loop's
// catch-up beside Run's processor), and reports whether it ran.
func interleave(c *protocol.Client, payload []byte, fn func()) func() bool {
	ran := false
	protocol.SetAttemptedHook(c, func(_ string, p []byte) {
		if ran || !bytes.Equal(p, payload) {
			return
		}
		ran = true
		fn()
	})
	return func() bool {
		protocol.SetAttemptedHook(c, nil)
		return ran
	}
}

// TestPendingRaceKeys: a group message that cannot open yet (its sender's installation is
// not known: the receiver is still joining from the creation Welcome) is kept pending, and
// opens when the creator's creation message arrives — also when that message is
// processed, and the retry of pending envelopes it triggers runs, between the message's
// failed attempt and the end of its processing (under load, the join's catch-up on the
// subscriptions goroutine beside Run's processor). The envelope was stored pending only
// after that retry: nothing retried it again, and the member never got the message (a
// liveness hole of "nothing is lost"; the scale simulation stalls this way).
func TestPendingRaceKeys(t *testing.T) {
	ctx := context.Background()
	rec := &published{}
	// Nine installations: above fullCreationMax, the creation is O(N) (a creation Welcome,
	// then the creation message and the members' cards on the group topic).
	const n = 9
	tn := newNetWith(t, memory.Config{Seed: 83, Tap: rec.tap}, n)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(tn.peers...)
	tn.settle()
	b.pause() // b's envelopes are handed to it below, in the order under test
	_, start := rec.since(0)
	var others []string
	for _, p := range tn.peers[1:] {
		others = append(others, p.id)
	}
	g, err := a.c.CreateGroup(ctx, "g", "", others...)
	must(t, err)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	tn.waitFor("c joined", func() bool { m, err := c.c.Members(ctx, g); return err == nil && len(m) == n })
	mustSend(t, c, g, "from c")
	pubs, _ := rec.since(start)
	var welcome, creation []transport.Envelope
	var msg *transport.Envelope
	for _, p := range pubs {
		switch {
		case p.from == a.name && p.env.Topic != info.Topic:
			welcome = append(welcome, p.env) // pairwise: b's Welcome among them
		case p.from == a.name:
			creation = append(creation, p.env) // the creation message and the members' cards
		case p.from == c.name && p.env.Topic == info.Topic:
			msg = &p.env
		}
	}
	if msg == nil || len(creation) == 0 || len(welcome) == 0 {
		t.Fatalf("set-up: %d pairwise and %d group publishes of a, c's message found %v", len(welcome), len(creation), msg != nil)
	}
	for _, e := range welcome {
		protocol.Inject(b.c, e.Topic, e.Payload)
	}
	if len(protocol.LiveEpochsForTest(b.c, g)) == 0 {
		t.Fatal("set-up: b holds no epoch of the group after its Welcome")
	}
	if _, err := b.c.Group(ctx, g); err == nil {
		t.Fatal("set-up: b joined from the Welcome alone")
	}

	done := interleave(b.c, msg.Payload, func() {
		for _, e := range creation {
			protocol.Inject(b.c, e.Topic, e.Payload)
		}
		protocol.RetryPending(b.c) // as the catch-up does after envelopes that brought keys
	})
	protocol.Inject(b.c, msg.Topic, msg.Payload)
	if !done() {
		t.Fatal("set-up: c's message was not attempted")
	}
	if m, err := b.c.Members(ctx, g); err != nil || len(m) != n {
		t.Fatalf("set-up: b did not join from the creation message: %v %v", m, err)
	}
	if n := b.texts(g)["from c"]; n != 1 {
		pending, _ := protocol.PendingStats(b.c)
		t.Fatalf("b has c's message %d times, want 1 (%d envelopes pending, nothing retries them)", n, pending)
	}
}

// TestJunkRaceEpoch: a group message sealed under an epoch the receiver does not hold yet
// gets no stored state, only a place in the junk filter, which is cleared when a new epoch
// becomes live, so that the message fetched again (a sync) opens. When the key event that
// makes the epoch live is processed between the message's attempt and the end of its
// processing, the filter was cleared first and the message added after: fetched again, it
// was skipped as junk (until some later epoch cleared the filter).
func TestJunkRaceEpoch(t *testing.T) {
	ctx := context.Background()
	rec := &published{}
	tn := newNetWith(t, memory.Config{Seed: 89, Tap: rec.tap}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g, a, b)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	b.pause()
	_, start := rec.since(0)
	must(t, a.c.Rekey(ctx, g))
	mustSend(t, a, g, "under the new epoch")
	pubs, _ := rec.since(start)
	var group []transport.Envelope
	for _, p := range pubs {
		if p.from == a.name && p.env.Topic == info.Topic {
			group = append(group, p.env)
		}
	}
	if len(group) < 2 {
		t.Fatalf("set-up: %d group publishes of a, want the rekey's and the message's", len(group))
	}
	key, msg := group[:len(group)-1], group[len(group)-1]

	done := interleave(b.c, msg.Payload, func() {
		for _, e := range key {
			protocol.Inject(b.c, e.Topic, e.Payload)
		}
	})
	protocol.Inject(b.c, msg.Topic, msg.Payload) // before its epoch: nothing opens it
	if !done() {
		t.Fatal("set-up: a's message was not attempted")
	}
	if n := b.texts(g)["under the new epoch"]; n != 0 {
		t.Fatalf("set-up: b opened the message before the rekey (%d)", n)
	}
	protocol.Inject(b.c, msg.Topic, msg.Payload) // fetched again, as by a sync
	if n := b.texts(g)["under the new epoch"]; n != 1 {
		t.Fatalf("b has the message fetched again under the epoch it now holds %d times, want 1 (skipped as junk)", n)
	}
}
