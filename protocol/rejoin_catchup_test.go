package protocol_test

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestRejoinCatchesUpOnSubscribedTopic: a member removed and re-added twice, whose
// inviter's Welcomes reach it only after the key events published after them (a slow
// pairwise path: the group topic's publishes that came first opened with no key of
// ours), catches up from each Welcome on: it applies the removal it could not open
// before its first re-add Welcome and joins at its second re-add. The group topic stays
// subscribed throughout (another group of ours shares it, WithGroupTopicBuckets(1)), so
// a catch-up that ran only when the subscribed topics changed never ran: the member held
// its first re-add for good, its second re-add waiting for a removal it had already
// dropped (TestAddWelcomeNoHistory failed this way at random when the subscriptions loop
// did not run between a removal and the re-add Welcome).
func TestRejoinCatchesUpOnSubscribedTopic(t *testing.T) {
	ctx := context.Background()
	tn := newNetWith(t, memory.Config{Seed: 71}, 3, protocol.WithEpochs(true), protocol.WithGroupTopicBuckets(1))
	a, b, d := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, d)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, d.id)
	must(t, err)
	h, err := a.c.CreateGroup(ctx, "h", "", d.id)
	must(t, err)
	status := func(p *peer, id protocol.GroupID) protocol.GroupStatus {
		info, err := p.c.Group(ctx, id)
		if err != nil {
			return -1
		}
		return info.Status
	}
	tn.waitFor("d in both groups", func() bool { return status(d, g) == protocol.GroupActive && status(d, h) == protocol.GroupActive })
	waitSameEpoch(tn, g, a, b, d)
	infoG, err := a.c.Group(ctx, g)
	must(t, err)
	infoH, err := a.c.Group(ctx, h)
	must(t, err)
	if infoG.Topic != infoH.Topic {
		t.Fatalf("set-up: the groups do not share a topic (%s, %s)", infoG.Topic, infoH.Topic)
	}
	pub, err := hexutil.Decode(d.id)
	must(t, err)
	inbox := topics.InboxTopic(pub)
	if inbox == infoG.Topic {
		t.Fatal("set-up: d's inbox is the group topic")
	}

	must(t, a.c.RemoveMembers(ctx, g, d.id))
	tn.waitFor("d removed", func() bool { return status(d, g) == protocol.GroupRemoved })
	// a's Welcomes to d are held back (its outbox retries them) while the key events
	// after them reach d at once.
	tn.devices().FaultTopic(a.dev, inbox)
	must(t, a.c.AddMembers(ctx, g, d.id))
	must(t, a.c.RemoveMembers(ctx, g, d.id))
	must(t, a.c.AddMembers(ctx, g, d.id))
	tn.settle()
	if s := status(d, g); s != protocol.GroupRemoved {
		t.Fatalf("set-up: d's status is %v before its Welcomes arrive", s)
	}
	tn.devices().FaultTopic(a.dev, "")
	waitSameEpoch(tn, g, a, b, d)
	mustSend(t, d, g, "d is back")
	waitTexts(t, tn, g, []string{"d is back"}, a, b)
	mustSend(t, a, g, "welcome back")
	waitTexts(t, tn, g, []string{"welcome back"}, d)
}
