package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// FuzzInbound feeds arbitrary payloads to a group member's inbox and group topics: the
// engine never panics, and input that does not authenticate changes none of its state.
func FuzzInbound(f *testing.F) {
	tn := newTestNet(f, memory.Config{Seed: 23}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "fuzz", "", b.id)
	if err != nil {
		f.Fatal(err)
	}
	tn.settle()
	info, _ := a.c.Group(ctx, g)
	inbox := tapInbox(f, tn, b)
	gtap := newTapTB(f, tn.net, info.Topic)
	if _, err := a.c.Send(ctx, g, protocol.Text("seed")); err != nil {
		f.Fatal(err)
	}
	if err := a.c.SetName(ctx, g, "renamed"); err != nil {
		f.Fatal(err)
	}
	tn.settle()
	for _, e := range gtap.all() {
		f.Add(uint8(1), e.Payload)
	}
	for _, e := range inbox.all() {
		f.Add(uint8(0), e.Payload)
	}
	f.Add(uint8(0), []byte{1, 1})
	f.Add(uint8(1), []byte{1})
	before := protocol.StateDigest(b.c)
	inboxTopic := inbox.topic
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		topic := inboxTopic
		if which%2 == 1 {
			topic = info.Topic
		}
		protocol.Inject(b.c, topic, payload)
		if after := protocol.StateDigest(b.c); after != before {
			t.Fatalf("state changed by unauthenticated input")
		}
	})
}

// FuzzInboundFrame mutates the inner frame of group publishes (rotation block, slots,
// senderkeys message) and re-seals it under the group key, as anyone holding the group
// secret can, so that the parsers and checks behind the outer AEAD are reached. The
// engine never panics, and the one effect allowed is that the envelope is kept as pending
// (a message under a key id the member does not hold); nothing else changes.
func FuzzInboundFrame(f *testing.F) {
	tn := newTestNet(f, memory.Config{Seed: 79}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "fuzz", "", b.id, c.id)
	if err != nil {
		f.Fatal(err)
	}
	tn.settle()
	info, _ := a.c.Group(ctx, g)
	gtap := newTapTB(f, tn.net, info.Topic)
	for _, p := range []*peer{a, c} {
		for range protocol.RotationRepeats + 2 {
			if _, err := p.c.Send(ctx, g, protocol.Text("seed from "+p.name)); err != nil {
				f.Fatal(err)
			}
		}
	}
	if err := a.c.SetName(ctx, g, "renamed"); err != nil {
		f.Fatal(err)
	}
	tn.settle()
	for _, e := range gtap.all() {
		if inner := protocol.InnerFrame(b.c, g, e.Payload); inner != nil {
			f.Add(inner)
		}
	}
	f.Add([]byte{wire.Version, 3})
	b.pause()
	before := protocol.StateDigest(b.c)
	f.Fuzz(func(t *testing.T, inner []byte) {
		protocol.Inject(b.c, info.Topic, protocol.SealInner(a.c, g, inner))
		if n, _ := protocol.PendingStats(b.c); n > 1 {
			t.Fatalf("%d envelopes pending after one", n)
		}
		protocol.ClearPending(b.c)
		if after := protocol.StateDigest(b.c); after != before {
			t.Fatalf("state changed by a re-sealed frame")
		}
	})
}
