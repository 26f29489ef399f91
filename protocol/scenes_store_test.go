package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// Scenes shared by the tests of a receiver's store failing (fix 18, review 15, 16, 18, 21).

// rxScene: a and rx on an epoch net (seed), in a group named name; rx has read a's
// "first".
func rxScene(t *testing.T, seed int64, name string) (tn *testNet, a, rx *peer, g protocol.GroupID) {
	t.Helper()
	tn = newEpochNet(t, memory.Config{Seed: seed}, 0)
	ctx := context.Background()
	a, rx = tn.add("a"), tn.add("rx")
	tn.connect(a, rx)
	g, err := a.c.CreateGroup(ctx, name, "", rx.id)
	must(t, err)
	tn.settle()
	mustSend(t, a, g, "first")
	waitTexts(t, tn, g, []string{"first"}, rx)
	return tn, a, rx, g
}

// tapHit taps g's topic, pauses rx and has a send "hit"; it returns g's info and the
// envelopes tapped (the last one is hit's), for the test to hand rx.
func tapHit(t *testing.T, tn *testNet, a, rx *peer, g protocol.GroupID) (protocol.GroupInfo, []transport.Envelope) {
	t.Helper()
	info, err := a.c.Group(context.Background(), g)
	must(t, err)
	gtap := newTapTB(t, tn.net, info.Topic)
	rx.pause()
	mustSend(t, a, g, "hit")
	tn.waitFor("a's message tapped", func() bool { return len(gtap.all()) > 0 })
	return info, gtap.all()
}

// sendThree has a send "one", "two", "three" in g and returns them.
func sendThree(t *testing.T, a *peer, g protocol.GroupID) []string {
	t.Helper()
	texts := []string{"one", "two", "three"}
	for _, s := range texts {
		mustSend(t, a, g, s)
	}
	return texts
}
