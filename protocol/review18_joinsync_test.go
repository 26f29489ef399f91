package protocol_test

import (
	"context"
	"testing"
	"time"
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
	tn, skew, _ := skewedNet(t, 1802, 2)
	a, b := tn.peers[0], tn.peers[1]
	_, g2 := joinWindowScene(t, tn, skew, a, b, b.pause)
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
	tn, skew, _ := skewedNet(t, 1808, 1)
	a := tn.peers[0]
	b := tn.addPersistent("b")
	_, g2 := joinWindowScene(t, tn, skew, a, b, b.stop)
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
