package protocol_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// signals records every publish of the network by client and epoch.
type signals struct {
	mu    sync.Mutex
	epoch time.Duration
	count map[string]map[uint64]int
}

func newSignals(epoch time.Duration) *signals {
	return &signals{epoch: epoch, count: map[string]map[uint64]int{}}
}

func (s *signals) tap(from string, env transport.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, _ := transport.EpochOf(env.Timestamp, s.epoch)
	if s.count[from] == nil {
		s.count[from] = map[uint64]int{}
	}
	s.count[from][e]++
}

// check fails if a client published more than limit messages in one epoch (a double
// signal, for RLN) and returns the total publishes.
func (s *signals) check(t *testing.T, limit int) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for from, epochs := range s.count {
		for e, n := range epochs {
			total += n
			if n > limit {
				t.Errorf("%s published %d messages in epoch %d (limit %d)", from, n, e, limit)
			}
		}
	}
	return total
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inOrder returns the texts of group g at p, sent by sender, in p's local order.
func inOrder(t *testing.T, p *peer, g protocol.GroupID, sender string) []string {
	msgs, err := p.c.Messages(context.Background(), g, protocol.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(msgs, func(a, b protocol.Message) int { return int(a.Seq - b.Seq) })
	var out []string
	for _, m := range msgs {
		if m.Content.Type == protocol.ContentText && m.Sender == sender {
			out = append(out, m.Content.Text)
		}
	}
	return out
}

// TestQuotaBurst: with a limit of k publishes per epoch, a burst of 50 messages from 5
// members arrives complete at every member, in order per sender, no client publishes
// more than k messages in an epoch, and the queued messages are reported.
func TestQuotaBurst(t *testing.T) {
	const k, epoch, members, each = 4, 60 * time.Millisecond, 5, 10
	sig := newSignals(epoch)
	tn := newTestNet(t, memory.Config{RateLimit: k, Epoch: epoch, Tap: sig.tap}, members)
	ps := tn.peers
	tn.connect(ps...)
	ctx := context.Background()
	a := ps[0]
	if q, ok := a.c.Quota(); !ok || q.Limit != k || q.Period != epoch || q.Remaining > k {
		t.Fatalf("Quota = %+v, %v", q, ok)
	}
	g, err := a.c.CreateGroup(ctx, "burst", "", ids(ps[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "everyone joined", func() bool {
		for _, p := range ps[1:] {
			if info, err := p.c.Group(ctx, g); err != nil || len(info.Members) != members {
				return false
			}
		}
		return true
	})
	// A client subscribes to a group's topic after its join commits (Run's subscription
	// loop): what is published before that reaches it only by recovery (R1 repeats, the
	// store), after what followed — not the quota outbox's order under test here.
	info, err := a.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "everyone subscribed to the group topic", func() bool {
		for _, p := range ps {
			if !p.node.Subscribed(info.Topic) {
				return false
			}
		}
		return true
	})
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := p.c.Send(ctx, g, protocol.Text(fmt.Sprintf("%s-%02d", p.name, i))); err != nil {
					t.Errorf("%s: send %d: %v", p.name, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range ps {
		if q, _ := p.c.Quota(); q.Queued == 0 {
			t.Logf("%s: nothing queued right after the burst (quota %+v)", p.name, q)
		}
	}
	want := func(p *peer) []string {
		var out []string
		for i := range each {
			out = append(out, fmt.Sprintf("%s-%02d", p.name, i))
		}
		return out
	}
	waitFor(t, 60*time.Second, "the burst to arrive everywhere", func() bool {
		for _, r := range ps {
			for _, s := range ps {
				if len(inOrder(t, r, g, s.id)) < each {
					return false
				}
			}
		}
		return true
	})
	for _, r := range ps {
		for _, s := range ps {
			if got := inOrder(t, r, g, s.id); !slices.Equal(got, want(s)) {
				t.Errorf("%s received from %s: %v", r.name, s.name, got)
			}
		}
	}
	total := sig.check(t, k)
	queued := 0
	for _, p := range ps {
		evs := p.eventsOf(func(e protocol.Event) bool { _, ok := e.(*protocol.MessageQueued); return ok })
		queued += len(evs)
		for _, e := range evs {
			if mq := e.(*protocol.MessageQueued); mq.ExpectedAt.IsZero() || mq.Group != g {
				t.Errorf("%s: %+v", p.name, mq)
			}
		}
		// Every sent message ends Published; waiting never made one fail.
		waitFor(t, 10*time.Second, p.name+"'s messages published", func() bool {
			msgs, _ := p.c.Messages(ctx, g, protocol.MessageFilter{})
			for _, m := range msgs {
				if m.Outgoing && m.Status != protocol.StatusPublished {
					return false
				}
			}
			return true
		})
		if q, _ := p.c.Quota(); q.Queued != 0 {
			t.Errorf("%s: still queued %+v", p.name, q)
		}
	}
	if queued == 0 {
		t.Error("no MessageQueued event: the burst never waited for quota")
	}
	t.Logf("%d publishes, %d messages queued", total, queued)
}

// TestQuotaQueueSurvivesRestart: messages queued for quota are published by the next
// run, in order, and a restart in the same epoch does not publish beyond the quota.
func TestQuotaQueueSurvivesRestart(t *testing.T) {
	const epoch = 150 * time.Millisecond
	sig := newSignals(epoch)
	tn := newTestNet(t, memory.Config{RateLimit: 1, Epoch: epoch, Tap: sig.tap}, 0)
	a, b := tn.addPersistent("a"), tn.add("b")
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "restart", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "b joined", func() bool { _, err := b.c.Group(ctx, g); return err == nil })
	const n = 6
	var want []string
	for i := range n {
		txt := fmt.Sprintf("m%d", i)
		want = append(want, txt)
		if _, err := a.c.Send(ctx, g, protocol.Text(txt)); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := a.c.Quota()
	if q.Queued == 0 {
		t.Fatalf("nothing queued after %d sends at 1 per epoch: %+v", n, q)
	}
	a.restart()
	waitFor(t, 20*time.Second, "all messages at b", func() bool { return len(inOrder(t, b, g, a.id)) == n })
	if got := inOrder(t, b, g, a.id); !slices.Equal(got, want) {
		t.Errorf("b received %v", got)
	}
	sig.check(t, 1)
	if q, _ := a.c.Quota(); q.Queued != 0 {
		t.Errorf("still queued after delivery: %+v", q)
	}
}

// TestQuotaCriticalFirst: a membership change sent while group messages wait for quota
// goes out before them.
func TestQuotaCriticalFirst(t *testing.T) {
	const epoch = 200 * time.Millisecond
	tn := newTestNet(t, memory.Config{RateLimit: 1, Epoch: epoch}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "prio", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "b joined", func() bool { _, err := b.c.Group(ctx, g); return err == nil })
	waitFor(t, 20*time.Second, "a's queue empty", func() bool { q, _ := a.c.Quota(); return q.Queued == 0 })
	for i := range 4 {
		if _, err := a.c.Send(ctx, g, protocol.Text(fmt.Sprint("t", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.c.AddMembers(ctx, g, c.id); err != nil {
		t.Fatal(err)
	}
	// c is welcomed (critical) before a's four texts are all out: it sees the group
	// while b has not yet received the last text.
	waitFor(t, 20*time.Second, "c joined", func() bool { _, err := c.c.Group(ctx, g); return err == nil })
	if got := len(inOrder(t, b, g, a.id)); got == 4 {
		t.Errorf("c joined only after all 4 queued texts were delivered to b: the membership change did not jump the queue")
	}
	waitFor(t, 20*time.Second, "texts at b", func() bool { return len(inOrder(t, b, g, a.id)) == 4 })
	if got := inOrder(t, b, g, a.id); !slices.Equal(got, []string{"t0", "t1", "t2", "t3"}) {
		t.Errorf("b received %v", got)
	}
}

// TestQuotaEphemeralDropped: best-effort traffic is dropped instead of queued.
func TestQuotaEphemeralDropped(t *testing.T) {
	tn := newTestNet(t, memory.Config{RateLimit: 1, Epoch: time.Hour}, 1)
	a := tn.peers[0]
	ctx := context.Background()
	if err := protocol.PublishEphemeral(a.c, ctx, "/test/1/ping/proto", []byte("ping")); err != nil {
		t.Fatalf("first ephemeral publish: %v", err)
	}
	if err := protocol.PublishEphemeral(a.c, ctx, "/test/1/ping/proto", []byte("ping")); err != protocol.ErrDropped {
		t.Fatalf("second ephemeral publish in the epoch: %v", err)
	}
	if q, _ := a.c.Quota(); q.Remaining != 0 || q.Queued != 0 {
		t.Fatalf("quota %+v", q)
	}
}
