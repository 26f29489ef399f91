package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSecNoOpEventFlood (issue 12, hole 4): a member sends 5,000 events that change
// nothing (MEMBER_JOINED by an existing member, each with its own clock). They are not
// applied and not kept: the stored log and the Welcome keep their size, adding a member
// and linking a device still work.
func TestSecNoOpEventFlood(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 12}, 0)
	a, b, c := tn.add("a"), tn.add("b"), tn.add("c")
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	before := welcomeLog(t, a, g)
	sizeBefore, _, _ := protocol.StoredEventsForTest(a.c, g)

	info, err := b.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	key := protocol.AccountKeyForTest(b.c)
	heads := protocol.HeadsForTest(b.c, g)
	clock := uint64(time.Now().UnixMilli())
	const total, perMessage = 5000, 1000
	for sent := 0; sent < total; sent += perMessage {
		m := &membership.Message{ChatID: info.ChatID}
		for i := 0; i < perMessage; i++ {
			clock++
			// Half name the current heads as parents (well-formed causal events), half none.
			var parents []membership.EventID
			if i%2 == 0 {
				parents = heads
			}
			ev, err := membership.SignEvent(key, info.ChatID, membership.Event{Type: membership.MemberJoined, Clock: clock, Parents: parents})
			if err != nil {
				t.Fatal(err)
			}
			m.Events = append(m.Events, ev)
		}
		update, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := protocol.SendMembershipForTest(b.c, g, update); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	if _, err := a.c.Send(ctx, g, protocol.Text("after the flood")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	tn.waitFor("b got a's message", func() bool { return b.texts(g)["after the flood"] == 1 })

	size, applied, pending := protocol.StoredEventsForTest(a.c, g)
	t.Logf("stored log: %d bytes before, %d after (%d applied, %d pending events)", sizeBefore, size, applied, pending)
	if size != sizeBefore {
		t.Errorf("stored event log grew from %d to %d bytes", sizeBefore, size)
	}
	if after := welcomeLog(t, a, g); len(after) != len(before) {
		t.Errorf("Welcome event log grew from %d to %d bytes", len(before), len(after))
	}
	if err := a.c.AddMembers(ctx, g, c.id); err != nil {
		t.Fatalf("AddMembers after the flood: %v", err)
	}
	tn.waitFor("c joined", func() bool { _, err := c.c.Group(ctx, g); return err == nil })
	tn.link(a, "a1")
}

// welcomeLog returns the event log p's Welcome for g carries.
func welcomeLog(t *testing.T, p *peer, g protocol.GroupID) []byte {
	t.Helper()
	bodies, err := protocol.WelcomeBodiesForTest(p.c, g)
	if err != nil {
		t.Errorf("Welcome for %s: %v", p.name, err)
		return nil
	}
	w, err := wire.ParseWelcome(bodies[0])
	if err != nil {
		t.Fatal(err)
	}
	return w.Membership
}
