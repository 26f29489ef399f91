package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestReview19JoinWindowSkippedByStorePoint: f804a2e makes a Sync leave a topic's last
// sync and points as they are once a Welcome's join touched the topic — from then on.
// What the Sync wrote before the join stays: with two stores, the honest one paging 2
// envelopes a call and one cut 1 ms past since each call (storePair: the design's lying
// store, "one honest store suffices"), each round keeps the last sync at the liar's cut
// and the honest store's own point at its cut. The honest store's first page holds the
// new group's first messages (on a topic b already reads, WithGroupTopicBuckets(1)),
// taken with no key; its next page the Welcome, which joins b. The join's point is later
// than the last sync (the liar's cut), so markJoinSync moves nothing back and keeps the
// points; the join's catch-up asks the honest store from its own point — past the
// messages. TestReview18JoinAfterLastSyncWindowLost's scene over storePair.
//
// Asserted: after the Sync that joins and two more (the catch-up), b reads a's two
// messages in the group it joined.
func TestReview19JoinWindowSkippedByStorePoint(t *testing.T) {
	ctx := context.Background()
	tn, skew, clock := skewedNet(t, 1904, 1)
	a := tn.peers[0]
	sp := &storePair{limit: 2}
	b := addPair(tn, "b", ":memory:", sp, protocol.WithGroupTopicBuckets(1), protocol.WithSyncInterval(-1),
		protocol.WithBurstSpread(0), protocol.WithClock(clock))
	_, g2 := joinWindowScene(t, tn, skew, a, b, b.pause)
	sp.on.Store(true)
	q0 := sp.queries()
	err1 := b.c.Sync(ctx)
	_, gerr := b.c.Group(ctx, g2)
	q1 := sp.queries()
	err2 := b.c.Sync(ctx) // the join's catch-up
	err3 := b.c.Sync(ctx)
	got := b.texts(g2)
	asks, _ := sp.honestAsks(q1)
	t.Logf("b's Syncs: %v; %v; %v; in the group after the first: %v; honest store asked %d times in the first, then from %v; b's texts in the group: %v",
		err1, err2, err3, gerr == nil, q1-q0, asks, got)
	if gerr != nil {
		t.Fatalf("set-up: b did not join the group in its Sync: %v", gerr)
	}
	for _, s := range []string{"g2 one", "g2 two"} {
		if got[s] != 1 {
			t.Errorf("b read %q %d times after joining in a Sync and 2 more Syncs: the honest store's point, kept by the Sync's rounds before the Welcome, is past the group's first messages it took with no key", s, got[s])
		}
	}
}
