package protocol_test

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport/memory"
)

// linkTopicOf computes a link code's link topic from the spec's formula.
func linkTopicOf(t testing.TB, code string) string {
	secret := linkSecret(t, code)
	seed, err := hkdf.Key(sha256.New, secret[:], nil, "chorus/v1/protocol/link-topic", 32)
	if err != nil {
		t.Fatal(err)
	}
	return topics.InboxTopic(seed)
}

// FuzzLinkInbox feeds arbitrary payloads to an installation waiting to be linked, on its
// link topic (seeded with a real link burst meant for another installation): it never
// panics, stays unlinked and stores nothing.
func FuzzLinkInbox(f *testing.F) {
	tn := newTestNet(f, memory.Config{Seed: 24}, 1)
	a := tn.peers[0]
	ctx := context.Background()
	if _, err := a.c.CreateGroup(ctx, "g", ""); err != nil {
		f.Fatal(err)
	}
	d, code := tn.newDevice("waiting")
	d.pause()
	_, other := tn.newDevice("other")
	otap := newTapTB(f, tn.net, linkTopicOf(f, other))
	if _, err := a.c.LinkDevice(ctx, other, "other"); err != nil {
		f.Fatal(err)
	}
	tn.settle()
	for _, e := range otap.all() {
		f.Add(e.Payload)
	}
	f.Add([]byte{1, 1})
	topic := linkTopicOf(f, code)
	before := protocol.StateDigest(d.c)
	f.Fuzz(func(t *testing.T, payload []byte) {
		protocol.Inject(d.c, topic, payload)
		if !d.c.WaitingForLink() || protocol.StateDigest(d.c) != before {
			t.Fatal("unauthenticated input changed a waiting installation")
		}
	})
}
