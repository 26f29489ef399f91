package protocol_test

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// queryRecorder is a memory node that records what a store or first-hop peer sees: the topic
// sets of History queries and subscriptions, and the topics published on.
type queryRecorder struct {
	*memory.Node
	mu        sync.Mutex
	histories [][]string
	subs      [][]string
	published []string
	// limit > 0 bounds History answers like a store that pages (transport/waku's
	// HistoryLimit): the oldest limit messages and transport.ErrHistoryTruncated.
	limit int
}

func (r *queryRecorder) History(ctx context.Context, ts []string, since, until time.Time) ([]transport.Envelope, error) {
	r.mu.Lock()
	r.histories = append(r.histories, slices.Sorted(slices.Values(ts)))
	limit := r.limit
	r.mu.Unlock()
	envs, err := r.Node.History(ctx, ts, since, until)
	if err == nil && limit > 0 && len(envs) > limit {
		return envs[:limit], transport.ErrHistoryTruncated
	}
	return envs, err
}

func (r *queryRecorder) Subscribe(ctx context.Context, ts []string) (<-chan transport.Envelope, error) {
	r.mu.Lock()
	r.subs = append(r.subs, slices.Sorted(slices.Values(ts)))
	r.mu.Unlock()
	return r.Node.Subscribe(ctx, ts)
}

func (r *queryRecorder) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	r.mu.Lock()
	r.published = append(r.published, topic)
	r.mu.Unlock()
	return r.Node.Publish(ctx, topic, payload)
}

func (r *queryRecorder) snapshot() (histories, subs [][]string, published []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.histories), slices.Clone(r.subs), slices.Clone(r.published)
}

// reset forgets the History queries seen so far.
func (r *queryRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.histories = nil
}

type recClient struct {
	c   *protocol.Client
	rec *queryRecorder
	id  string
}

func newRecClient(t *testing.T, net *memory.Network, name string) *recClient {
	t.Helper()
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	rec := &queryRecorder{Node: net.Join(name)}
	c, err := protocol.New(ctx, st, rec, protocol.WithRetryBackoff(20*time.Millisecond), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.CreateAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(rctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
		rec.Close()
		st.Close()
	})
	return &recClient{c: c, rec: rec, id: info.ID}
}

func countPrefix(set []string, prefix string) int {
	n := 0
	for _, t := range set {
		if strings.HasPrefix(t, "/chorus/1/"+prefix) {
			n++
		}
	}
	return n
}

// TestSyncQuerySet (PRIV1, issue 19 item 1): a store or first-hop peer sees one query
// per Sync, over all of the client's topics padded with decoys — inbox and announcement
// partitions and group topics — to a multiple of QuerySetStep; the set is stable across
// syncs, and subscriptions ask for the same set. Before, Sync sent one History query
// per topic and Run one subscription per topic.
func TestSyncQuerySet(t *testing.T) {
	ctx := context.Background()
	net := memory.NewNetwork(memory.Config{History: true})
	t.Cleanup(func() { _ = net.Close() })
	a, b := newRecClient(t, net, "a"), newRecClient(t, net, "b")
	for _, pair := range [][2]*recClient{{a, b}, {b, a}} {
		code, err := pair[0].c.ContactCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pair[1].c.AddContact(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	var groups []protocol.GroupID
	for _, name := range []string{"one", "two"} {
		g, err := a.c.CreateGroup(ctx, name, "", b.id)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	for _, g := range groups {
		if _, err := a.c.Send(ctx, g, protocol.Text("hi")); err != nil {
			t.Fatal(err)
		}
	}
	_, _, published := a.rec.snapshot()
	var groupTopics []string
	for _, tp := range published {
		if strings.HasPrefix(tp, "/chorus/1/g-") && !slices.Contains(groupTopics, tp) {
			groupTopics = append(groupTopics, tp)
		}
	}
	if len(groupTopics) != 2 {
		t.Fatalf("group topics %v", groupTopics)
	}
	pub, err := hex.DecodeString(strings.TrimPrefix(a.id, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	inbox := topics.InboxTopic(pub)

	// Let Run subscribe to the new group topics first (it then syncs them too, which
	// would interleave with the Sync below).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, subs, _ := a.rec.snapshot()
		all := slices.Concat(subs...)
		if slices.Contains(all, groupTopics[0]) && slices.Contains(all, groupTopics[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no subscription to the group topics: %v", subs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	a.rec.reset()
	if err := a.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	hs, _, _ := a.rec.snapshot()
	if len(hs) == 0 || slices.ContainsFunc(hs, func(q []string) bool { return !slices.Equal(q, hs[0]) }) {
		t.Fatalf("Sync sent History queries %v; want each over all topics", hs)
	}
	set := hs[0]
	for _, own := range append([]string{inbox}, groupTopics...) {
		if !slices.Contains(set, own) {
			t.Fatalf("query set %v lacks own topic %s", set, own)
		}
	}
	if len(set)%protocol.QuerySetStep != 0 ||
		countPrefix(set, "inbox-") < 1+protocol.DecoyInboxPartitions ||
		countPrefix(set, "announce-") < protocol.DecoyAnnouncePartitions ||
		countPrefix(set, "g-") < len(groupTopics)+protocol.DecoyMinGroups {
		t.Fatalf("query set of %d topics not padded with decoys: %v", len(set), set)
	}
	// Stable: the next Sync asks for exactly the same set.
	a.rec.reset()
	if err := a.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if hs, _, _ := a.rec.snapshot(); len(hs) == 0 || slices.ContainsFunc(hs, func(q []string) bool { return !slices.Equal(q, set) }) {
		t.Fatalf("second Sync queried %v, first %v", hs, set)
	}
	// Subscriptions: the newest subscription is over the same set, and every
	// subscription carries decoys.
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, subs, _ := a.rec.snapshot()
		if len(subs) > 0 && slices.Equal(subs[len(subs)-1], set) {
			for _, s := range subs {
				if len(s)%protocol.QuerySetStep != 0 {
					t.Fatalf("subscription without decoys: %v", s)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions %v, want one over %v", subs, set)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Another client's set shares the group topics but not the decoys.
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bh, _, _ := b.rec.snapshot()
	if slices.Equal(bh[len(bh)-1], set) {
		t.Fatal("two clients drew the same decoys")
	}
}

// TestSyncPastFlood (issue 19 items 1 and 5): junk flooding a client's inbox partition
// while it is offline makes bounded History answers (transport.ErrHistoryTruncated);
// Sync processes each part and continues from its last timestamp until it reaches the
// Welcome behind the junk. Before, a truncated answer failed the topic's sync for good.
func TestSyncPastFlood(t *testing.T) {
	ctx := context.Background()
	net := memory.NewNetwork(memory.Config{History: true})
	t.Cleanup(func() { _ = net.Close() })
	a, b := newRecClient(t, net, "a"), newRecClient(t, net, "b")
	for _, pair := range [][2]*recClient{{a, b}, {b, a}} {
		code, err := pair[0].c.ContactCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pair[1].c.AddContact(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	net.SetOffline("b", true)
	pub, err := hex.DecodeString(strings.TrimPrefix(b.id, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	junk := net.Join("junk")
	defer junk.Close()
	for i := range 300 {
		if _, err := junk.Publish(ctx, topics.InboxTopic(pub), []byte{1, byte(i), byte(i >> 8), 7, 7, 7}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := a.c.CreateGroup(ctx, "behind the flood", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	net.SetOffline("b", false)
	b.rec.mu.Lock()
	b.rec.limit = 40
	b.rec.mu.Unlock()
	b.rec.reset()
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Group(ctx, g); err != nil {
		hs, _, _ := b.rec.snapshot()
		t.Fatalf("group behind 300 junk messages not joined after %d bounded History calls: %v", len(hs), err)
	}
	if hs, _, _ := b.rec.snapshot(); len(hs) < 300/40 {
		t.Fatalf("%d History calls for 300 junk messages in parts of 40", len(hs))
	}
}
