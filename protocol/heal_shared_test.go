package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestHealedStateShared (issue 16): what a receiver keeps as found healed after a key
// event is the group view's schedule and bookkeeping themselves, not a copy of them (a
// copy was 23 KiB per client in a group of 1000), and it still agrees with the store. The
// receiver has the smallest installation id (an outranked one keeps nothing on receive:
// TestKeyEventOutrankedSkipsHealCheck).
func TestHealedStateShared(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 83}, 0)
	admin, rx, others, g := keyEventGroupFirst(t, tn, "shared", 3)
	ctx := context.Background()
	tp, seen := tapPaused(t, tn, admin, rx, g)
	must(t, admin.c.RemoveMembers(ctx, g, others[0].id))
	tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
	time.Sleep(20 * time.Millisecond)
	for _, e := range tp.all()[seen:] {
		protocol.Inject(rx.c, e.Topic, e.Payload)
	}
	cached, fresh, err := protocol.HealthyForTest(rx.c, g)
	must(t, err)
	if !fresh || !cached {
		t.Fatalf("after the removal: healed %v, kept as healed %v", fresh, cached)
	}
	if !protocol.HealthySharedForTest(rx.c, g) {
		t.Fatal("the state kept as healed is a copy of the group's schedule and bookkeeping")
	}
}

// TestSendEpochShared (issue 16): what a sender keeps to seal its next message under the
// same epoch is keyed by the group view's schedule and bookkeeping themselves, not a copy
// of them (a copy of both was ≈ 30 KiB per speaking client in a group of 1000).
func TestSendEpochShared(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 84}, 0)
	_, rx, _, g := keyEventGroup(t, tn, "sendshared", 3)
	ctx := context.Background()
	for i := range 2 {
		if _, err := rx.c.Send(ctx, g, protocol.Text("hello")); err != nil {
			t.Fatal(err)
		}
		if !protocol.SendEpochSharedForTest(rx.c, g) {
			t.Fatalf("send %d: the send epoch is keyed by a copy of the group's schedule and bookkeeping", i)
		}
	}
}
