package protocol_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport/memory"
)

// Scenes shared by the tests of a Welcome's join in a Sync (review 18, review 19).

// skewedNet returns a test net of n peers on one group topic (WithGroupTopicBuckets(1))
// whose clock, the store's too, runs skew ahead of time.Now.
func skewedNet(t *testing.T, seed int64, n int) (tn *testNet, skew *atomic.Int64, clock func() time.Time) {
	skew = new(atomic.Int64)
	clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn = newNetWith(t, memory.Config{Seed: seed, Now: clock}, n, protocol.WithGroupTopicBuckets(1), protocol.WithClock(clock))
	return tn, skew, clock
}

// joinWindowScene is TestReview18JoinAfterLastSyncWindowLost's scene up to b's return: a
// and b in g1 (b reads "g1 first" and Syncs: its last sync); b goes offline (offline:
// paused or stopped); 10 minutes later a creates g2 with b, on g1's topic, its Welcome to
// b held back in a's outbox while a sends "g2 one" and "g2 two"; a minute later the
// Welcome is published; 10 minutes later b is to come back (the caller's).
func joinWindowScene(t *testing.T, tn *testNet, skew *atomic.Int64, a, b *peer, offline func()) (g1, g2 protocol.GroupID) {
	t.Helper()
	ctx := context.Background()
	tn.connect(a, b)
	g1, err := a.c.CreateGroup(ctx, "one", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g1, a, b)
	mustSend(t, a, g1, "g1 first")
	waitTexts(t, tn, g1, []string{"g1 first"}, b)
	must(t, b.c.Sync(ctx)) // b's last sync
	offline()              // b offline: no live delivery
	pub, err := hexutil.Decode(b.id)
	must(t, err)
	inbox := topics.InboxTopic(pub)

	skew.Add(int64(10 * time.Minute))
	tn.devices().FaultTopic(a.dev, inbox) // a's Welcome to b waits in its outbox
	g2, err = a.c.CreateGroup(ctx, "two", "", b.id)
	must(t, err)
	info1, err := a.c.Group(ctx, g1)
	must(t, err)
	info2, err := a.c.Group(ctx, g2)
	must(t, err)
	if info1.Topic != info2.Topic {
		t.Fatalf("set-up: the groups do not share a topic")
	}
	mustSend(t, a, g2, "g2 one")
	mustSend(t, a, g2, "g2 two")
	probe := tn.net.Join("probe")
	t.Cleanup(func() { probe.Close() })
	inboxNow := func() int {
		h, err := probe.History(ctx, []string{inbox}, time.Time{}, time.Time{})
		must(t, err)
		return len(h)
	}
	before := inboxNow()
	skew.Add(int64(time.Minute))
	tn.devices().FaultTopic(a.dev, "") // a's outbox publishes the Welcome now
	waitFor(t, 5*time.Second, "a's Welcome to b published", func() bool { return inboxNow() > before })

	skew.Add(int64(10 * time.Minute)) // b back online
	return g1, g2
}
