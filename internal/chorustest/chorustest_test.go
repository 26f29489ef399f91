package chorustest_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestMeter: publishes are counted per topic and kept, a lost publish never leaves, a
// deafened topic is not delivered, and deliveries are counted.
func TestMeter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := memory.NewNetwork(memory.Config{})
	defer net.Close()
	a, b := chorustest.NewMeter(net.Join("a")), chorustest.NewMeter(net.Join("b"))
	in, err := b.Subscribe(ctx, []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	b.Deafen("y", true)
	a.Lose("x")
	for _, p := range []struct{ topic, payload string }{{"x", "lost"}, {"x", "one"}, {"x", "three"}, {"y", "missed"}} {
		if _, err := a.Publish(ctx, p.topic, []byte(p.payload)); err != nil {
			t.Fatal(err)
		}
	}
	if n, bytes := a.Published("x"); n != 2 || bytes != 8 {
		t.Errorf("published on x: %d, %d B; want 2, 8 B", n, bytes)
	}
	if n, bytes := a.PublishedExcept("x"); n != 1 || bytes != 6 {
		t.Errorf("published except x: %d, %d B; want 1, 6 B", n, bytes)
	}
	if a.Lost() != 1 || len(a.Sent()) != 3 || string(a.Sent()[0].Payload) != "one" {
		t.Errorf("lost %d, sent %d", a.Lost(), len(a.Sent()))
	}
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case e := <-in:
			got = append(got, string(e.Payload))
		case <-timeout:
			t.Fatalf("received %q", got)
		}
	}
	if got[0] != "one" || got[1] != "three" {
		t.Errorf("received %q, want one, three", got)
	}
	if n, _ := b.Received("x"); n != 2 {
		t.Errorf("received on x: %d, want 2", n)
	}
	if n, _ := b.Received("y"); n != 0 {
		t.Errorf("received on deafened y: %d, want 0", n)
	}
}

// TestEventsAwait: Await returns as soon as an event makes the predicate hold, and false
// at the timeout when none does.
func TestEventsAwait(t *testing.T) {
	ctx := context.Background()
	ev := chorustest.NewEvents()
	ch := make(chan protocol.Event)
	go ev.Collect(ch)
	defer close(ch)
	g := protocol.GroupID{1}
	m := protocol.MessageID{2}
	if ev.Await(ctx, 20*time.Millisecond, chorustest.Joined(g)) {
		t.Fatal("joined before any event")
	}
	go func() {
		ch <- &protocol.GroupJoined{Group: g}
		ch <- &protocol.MembershipChanged{Group: g, MembersAdded: []string{"0x04ab"}}
		ch <- &protocol.MessageReceived{Message: protocol.Message{ID: m}}
	}()
	for name, p := range map[string]chorustest.Predicate{
		"joined": chorustest.Joined(g), "added": chorustest.SawAdded(g, "0x04ab"), "received": chorustest.Received(m),
	} {
		if !ev.Await(ctx, 5*time.Second, p) {
			t.Errorf("%s: not seen", name)
		}
	}
	if ev.Check(chorustest.SawRemoved(g, "0x04ab")) || ev.Check(chorustest.Linked) {
		t.Error("a predicate holds without its event")
	}
	if len(ev.Arrivals(m)) != 1 {
		t.Errorf("arrivals %d, want 1", len(ev.Arrivals(m)))
	}
}

func TestMedianShort(t *testing.T) {
	if got := chorustest.Median([]int64{5, 1, 3}); got != 3 {
		t.Errorf("odd median %d", got)
	}
	if got := chorustest.Median([]time.Duration{4, 1, 2, 3}); got != 2 {
		t.Errorf("even median %d, want 2 (mean of 2 and 3, truncated)", got)
	}
	if got := chorustest.Median[int](nil); got != 0 {
		t.Errorf("empty median %d", got)
	}
	if got := chorustest.Short("0x04abcdef0123456789"); got != "0x04abcdef01…" {
		t.Errorf("Short: %q", got)
	}
}

// TestTap: a tap sees what is published on its topics, and nothing after Stop.
func TestTap(t *testing.T) {
	ctx := context.Background()
	net := memory.NewNetwork(memory.Config{})
	defer net.Close()
	pub, obs := net.Join("pub"), net.Join("obs")
	tp, err := chorustest.NewTap(ctx, obs, "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"x", "y", "x"} {
		if _, err := pub.Publish(ctx, topic, []byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(tp.Envelopes()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	got := tp.Stop()
	if len(got) != 2 || got[0].Topic != "x" || got[1].Topic != "x" {
		t.Fatalf("tap saw %d envelopes, want the 2 on x", len(got))
	}
	if _, err := pub.Publish(ctx, "x", []byte("late")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if n := len(tp.Envelopes()); n != 2 {
		t.Fatalf("tap recorded %d envelopes after Stop, want 2", n)
	}
}

// TestRunning: Start runs a real client and records its events; Stop ends Run cleanly and
// can be called again.
func TestRunning(t *testing.T) {
	ctx := context.Background()
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()
	open := func(name string) *chorustest.Running {
		st, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c, err := protocol.New(ctx, st, net.Join(name), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.CreateAccount(ctx); err != nil {
			t.Fatal(err)
		}
		return chorustest.Start(ctx, c, nil)
	}
	a, b := open("a"), open("b")
	codeB, err := b.Client.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.AddContact(ctx, codeB); err != nil {
		t.Fatal(err)
	}
	bInfo, _ := b.Client.Account()
	g, err := a.Client.CreateGroup(ctx, "g", "", bInfo.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Events.Await(ctx, 10*time.Second, chorustest.Joined(g)) {
		t.Fatal("b did not join")
	}
	if n := len(b.Events.All(func(e protocol.Event) bool { _, ok := e.(*protocol.GroupJoined); return ok })); n != 1 {
		t.Errorf("%d GroupJoined events, want 1", n)
	}
	for _, r := range []*chorustest.Running{a, b, a} {
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
}

// TestNetwork: devices on a Network connect, share a group, survive a restart on a
// file store (events kept), fail to publish while faulty, and a linked device joins the
// holder's group.
func TestNetwork(t *testing.T) {
	ctx := context.Background()
	n := chorustest.NewNetwork(t, memory.Config{})
	a := n.Add(n.NewDevice("a", filepath.Join(t.TempDir(), "a.db")), chorustest.Create)
	b := n.Add(n.NewDevice("b", ":memory:"), chorustest.Create)
	n.Connect(a, b)
	g, err := a.Client.CreateGroup(ctx, "g", "", b.Info.ID)
	if err != nil {
		t.Fatal(err)
	}
	n.WaitFor("b joined", func() bool { return b.Events.Check(chorustest.Joined(g)) })

	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if a.Run != nil {
		t.Fatal("Run set after Shutdown")
	}
	id := a.Info.ID
	if err := a.Start(ctx, chorustest.Reopen); err != nil {
		t.Fatal(err)
	}
	if a.Info.ID != id {
		t.Errorf("reopened as %s, want %s", a.Info.ID, id)
	}

	n.Fault(a).Store(true)
	lost, err := a.Client.Send(ctx, g, protocol.Text("lost"))
	if err != nil {
		t.Fatal(err) // stored; every publish attempt fails
	}
	n.WaitFor("the publish failed", func() bool {
		msgs, err := a.Client.Messages(ctx, g, protocol.MessageFilter{Status: protocol.StatusFailed, HasStatus: true})
		return err == nil && len(msgs) == 1 && msgs[0].ID == lost
	})
	n.Fault(a).Store(false)
	if _, err := a.Client.Send(ctx, g, protocol.Text("after")); err != nil {
		t.Fatal(err)
	}
	n.WaitFor("b got the message after the fault", func() bool {
		got, _ := chorustest.Texts(ctx, b.Client, g)
		return got["after"] == 1
	})
	if got, _ := chorustest.Texts(ctx, b.Client, g); got["lost"] != 0 {
		t.Error("b got a message whose publishes failed")
	}

	l := n.LinkNew(a, "a-laptop")
	if l.Info.ID != a.Info.ID {
		t.Errorf("linked to %s, want %s", l.Info.ID, a.Info.ID)
	}
	if _, err := l.Client.Group(ctx, g); err != nil {
		t.Errorf("linked device not in the group: %v", err)
	}
}
