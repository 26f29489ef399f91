package protocol_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
)

// joinedGroup: creator creates a group named name with members, waits until every member
// has joined it, then until creator and members are on one epoch.
func joinedGroup(t *testing.T, tn *testNet, name string, creator *peer, members ...*peer) protocol.GroupID {
	t.Helper()
	ctx := context.Background()
	g, err := creator.c.CreateGroup(ctx, name, "", ids(members...)...)
	must(t, err)
	tn.waitFor("joined", func() bool {
		for _, p := range members {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	waitSameEpoch(tn, g, append([]*peer{creator}, members...)...)
	return g
}

// rekeyOverRX has x (its prev hook cleared) rekey again over its frontier {RX} in
// leaverRekey's scene, recording the publishes; it returns the new rekey's id and the
// payloads of its publishes on the group topic (preconditions: x's frontier is the new
// rekey alone, its block's prev is {RX}, at least one publish; name names it in the
// messages: "RX2", "RX3").
func (s *leaverRekey) rekeyOverRX(t *testing.T, name string) (epoch.ID, [][]byte) {
	t.Helper()
	x, g := s.x, s.g
	protocol.SetRekeyPrevHookForTest(x.c, nil)
	n := len(s.rec.stop())
	s.rec.start()
	must(t, x.c.Rekey(context.Background(), g))
	_, fx, _ := protocol.EpochInfo(x.c, g)
	if len(fx) != 1 || fx[0] == s.rx {
		t.Fatalf("precondition: x did not rekey over RX (frontier %s)", shortFrontier(fx))
	}
	id := fx[0]
	var pubs [][]byte
	for _, env := range newPubs(s.rec, n) {
		if f := protocol.OpenFrameForTest(protocol.LiveEpochsForTest(x.c, g), g, env.Topic, env.Payload); env.Topic == s.topic && f.Block != nil && f.Block.Event == id {
			if !slices.Equal(f.Block.Prev, epoch.Frontier{s.rx}) {
				t.Fatalf("precondition: %s's prev %s, want {RX}", name, shortFrontier(f.Block.Prev))
			}
			pubs = append(pubs, env.Payload)
		}
	}
	if len(pubs) == 0 {
		t.Fatalf("precondition: %s not recorded", name)
	}
	return id, pubs
}

// tapPaused taps g's topic (admin's view of it) and pauses rx (it gets the key events
// handed by the test); it returns the tap and how many envelopes it held then.
func tapPaused(t *testing.T, tn *testNet, admin, rx *peer, g protocol.GroupID) (tp *tap, seen int) {
	t.Helper()
	info, err := admin.c.Group(context.Background(), g)
	must(t, err)
	tp = newTap(t, tn.net, info.Topic)
	rx.pause()
	return tp, len(tp.all())
}
