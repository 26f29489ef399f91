package protocol_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/transport"
)

// TestReview9CatchUpRetriedStoresUnreachable (review 9): retry9 retries a failed catch-up
// after a subscription change, except when the error is transport.ErrNoHistory ("final":
// no store at all). But the Waku transport's History fails with ErrNoHistory whenever no
// store answered — every store peer unreachable for a moment, or cut by its deadline with
// nothing (transport/waku History: "waku: history: %w: %w", ErrNoHistory, the stores'
// errors; TestHistoryStoreSilent asserts it) — so on the real transport the commonest
// failure is never retried, and the backlog of the dropped subscription is lost (syncs
// off) or waits for the next periodic sync. As TestResubscribeCatchUpRetried, with
// History failing twice the way transport/waku fails when its one store peer is
// unreachable.
//
// Asserted: b reads the message that waited in its old subscription (Run retries).
func TestReview9CatchUpRetriedStoresUnreachable(t *testing.T) {
	wakuErr := fmt.Errorf("waku: history: %w: %w", transport.ErrNoHistory,
		errors.New("store 16U*x9Ab: failed to dial: context deadline exceeded"))
	resubscribeKeepsBacklogWith(t, 2, wakuErr)
}
