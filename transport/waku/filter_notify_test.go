package waku

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/waku-org/go-waku/waku/v2/protocol"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/subscription"
	"go.uber.org/zap"
)

// TestFilterNotifyUnsubscribedPeer: a filter push from a peer whose subscription was removed
// after the light node's Has check (unsubscribe or close racing the push) is dropped, not a
// nil-pointer panic (third_party/go-waku/CHORUS-PATCH.md, third change; seen once in the race
// phase of make test).
func TestFilterNotifyUnsubscribedPeer(t *testing.T) {
	m := subscription.NewSubscriptionMap(zap.NewNop())
	ct := "/chorus/1/x/proto"
	env := protocol.NewEnvelope(&wpb.WakuMessage{ContentTopic: ct}, 1, "/waku/2/rs/16/32")
	m.Notify(context.Background(), peer.ID("gone"), env) // panicked before the patch
}
