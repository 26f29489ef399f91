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

// TestReview18JoinAfterLastSyncWindowLost: movedBack (8976541) keeps a Sync from writing
// over a last sync that a Welcome's join moved back while it ran. A join whose point is
// later than the last sync moves nothing (markJoinSync: the Sync under way already asks
// from before it), so the Sync ends as usual and writes its own start; but that Sync may
// have taken the join's window before the Welcome's keys — the group's publishes, on a
// topic we already read (another group of ours shares it), opened with no key and were
// dropped — and the join's catch-up then asks from the Sync's start, past them.
// Here b was offline (its last sync 10 minutes before the invitation); a's Welcome to b is
// held back (its outbox retries it) while a's two messages in the new group go out; b
// comes back and Syncs: the group topic's envelopes, earlier than the Welcome, come first
// in the answer and open with no key; the Welcome then joins b. Then b Syncs again (what
// the join's catch-up does: its topics from their last sync).
//
// Asserted: b reads a's two messages in the group it joined. The same as
// TestRejoinCatchesUpOnSubscribedTopic, with a Sync (b back online) instead of live delivery.
func TestReview18JoinAfterLastSyncWindowLost(t *testing.T) {
	ctx := context.Background()
	skew := new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: 1802, Now: clock}, 2, protocol.WithGroupTopicBuckets(1), protocol.WithClock(clock))
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	g1, err := a.c.CreateGroup(ctx, "one", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g1, a, b)
	mustSend(t, a, g1, "g1 first")
	waitTexts(t, tn, g1, []string{"g1 first"}, b)
	must(t, b.c.Sync(ctx)) // b's last sync
	b.pause()              // b offline: no live delivery, only its Syncs
	pub, err := hexutil.Decode(b.id)
	must(t, err)
	inbox := topics.InboxTopic(pub)

	skew.Add(int64(10 * time.Minute))
	tn.devices().FaultTopic(a.dev, inbox) // a's Welcome to b waits in its outbox
	g2, err := a.c.CreateGroup(ctx, "two", "", b.id)
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
	defer probe.Close()
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
	err1 := b.c.Sync(ctx)
	_, gerr := b.c.Group(ctx, g2)
	err2 := b.c.Sync(ctx) // the join's catch-up
	got := b.texts(g2)
	t.Logf("b's Syncs: %v, %v; b in the group after the first: %v; b's texts in it: %v", err1, err2, gerr == nil, got)
	if gerr != nil {
		t.Fatalf("set-up: b did not join the group in its Sync: %v", gerr)
	}
	for _, s := range []string{"g2 one", "g2 two"} {
		if got[s] != 1 {
			t.Errorf("b read %q %d times after joining in a Sync and catching up: the group's publishes before its Welcome, taken by that Sync with no key, are not fetched again (the join moved nothing back, the Sync wrote its start)", s, got[s])
		}
	}
}

// TestReview18JoinAfterLastSyncWindowLostRunning: TestReview18JoinAfterLastSyncWindowLost
// with b running: b is stopped (offline) from its last sync until a's Welcome is
// published, then started: Run's first Sync takes the group's publishes with no key,
// then the Welcome; the join asks the subscriptions loop for a catch-up of the topic,
// which starts beside that Sync — and reads the topic's last sync after the Sync wrote its
// start.
//
// Asserted: within 5 s of b's start, b reads a's two messages in the group it joined.
func TestReview18JoinAfterLastSyncWindowLostRunning(t *testing.T) {
	ctx := context.Background()
	skew := new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	tn := newNetWith(t, memory.Config{Seed: 1808, Now: clock}, 1, protocol.WithGroupTopicBuckets(1), protocol.WithClock(clock))
	a := tn.peers[0]
	b := tn.addPersistent("b")
	tn.connect(a, b)
	g1, err := a.c.CreateGroup(ctx, "one", "", b.id)
	must(t, err)
	waitSameEpoch(tn, g1, a, b)
	mustSend(t, a, g1, "g1 first")
	waitTexts(t, tn, g1, []string{"g1 first"}, b)
	must(t, b.c.Sync(ctx))
	b.stop() // offline
	pub, err := hexutil.Decode(b.id)
	must(t, err)
	inbox := topics.InboxTopic(pub)

	skew.Add(int64(10 * time.Minute))
	tn.devices().FaultTopic(a.dev, inbox)
	g2, err := a.c.CreateGroup(ctx, "two", "", b.id)
	must(t, err)
	mustSend(t, a, g2, "g2 one")
	mustSend(t, a, g2, "g2 two")
	probe := tn.net.Join("probe")
	defer probe.Close()
	inboxNow := func() int {
		h, err := probe.History(ctx, []string{inbox}, time.Time{}, time.Time{})
		must(t, err)
		return len(h)
	}
	before := inboxNow()
	skew.Add(int64(time.Minute))
	tn.devices().FaultTopic(a.dev, "")
	waitFor(t, 5*time.Second, "a's Welcome to b published", func() bool { return inboxNow() > before })

	skew.Add(int64(10 * time.Minute))
	b.start(false) // back online: Run's Sync, the join's catch-up
	deadline := time.Now().Add(5 * time.Second)
	read := func() int {
		got := b.texts(g2)
		return got["g2 one"] + got["g2 two"]
	}
	for read() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, gerr := b.c.Group(ctx, g2)
	t.Logf("5 s after b's start: b in the group %v, its texts in it %v", gerr == nil, b.texts(g2))
	if gerr != nil {
		t.Fatalf("set-up: b did not join the group: %v", gerr)
	}
	if n := read(); n < 2 {
		t.Errorf("b read %d of a's 2 messages in the group it joined while running: the Sync that took them with no key wrote its start before the join's catch-up read the last sync", n)
	}
}
