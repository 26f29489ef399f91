package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

type fakeNet struct{ peers int }

func (f fakeNet) Ready(context.Context) error {
	if f.peers == 0 {
		return Errorf(CodeNoPeers, "no peers reachable")
	}
	return nil
}
func (f fakeNet) PeerCount() int  { return f.peers }
func (f fakeNet) Addrs() []string { return []string{"/ip4/127.0.0.1/tcp/1/p2p/x"} }

type person struct {
	s  *Service
	ev <-chan EventView
}

// newPeople starts clients on an in-memory network, each with a Service.
func newPeople(t *testing.T, names ...string) map[string]*person {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	net := memory.NewNetwork(memory.Config{History: true})
	t.Cleanup(func() { net.Close() })
	out := map[string]*person{}
	for _, n := range names {
		st, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c, err := protocol.New(ctx, st, net.Join(n), protocol.WithSyncInterval(100*time.Millisecond), protocol.WithBurstSpread(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateAccount(ctx); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(ctx) }()
		t.Cleanup(func() { c.Close(); <-done })
		s := NewService(c, "", nil, Config{Name: n}, fakeNet{peers: 1}, true)
		ev, err := s.Watch(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &person{s: s, ev: ev}
	}
	return out
}

func (p *person) waitEvent(t *testing.T, what string, match func(EventView) bool) EventView {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-p.ev:
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "(not an *Error: " + fmt.Sprint(err) + ")"
}

func introduce(t *testing.T, ctx context.Context, a *person, aName string, b *person, bName string) {
	t.Helper()
	ca, err := a.s.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.s.ID(ctx)
	if _, err := a.s.AddContact(ctx, ContactAddParams{Code: cb.Code, Name: bName}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.AddContact(ctx, ContactAddParams{Code: ca.Code, Name: aName}); err != nil {
		t.Fatal(err)
	}
}

func TestServiceGroupLifecycle(t *testing.T) {
	ctx := context.Background()
	p := newPeople(t, "alice", "bob", "carol")
	alice, bob, carol := p["alice"], p["bob"], p["carol"]
	introduce(t, ctx, alice, "alice", bob, "bob")
	introduce(t, ctx, alice, "alice", carol, "carol")

	// Members by local name, "me", and unique id prefix.
	bobID, _ := bob.s.Client().Account()
	carolID, _ := carol.s.Client().Account()
	if id, err := alice.s.ResolveAccount(ctx, bobID.ID[:12]); err != nil || id != bobID.ID {
		t.Fatalf("prefix: %v %v", id, err)
	}
	if _, err := alice.s.ResolveAccount(ctx, "dave"); codeOf(err) != CodeUnknownContact {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := alice.s.AddContact(ctx, ContactAddParams{Code: "chorus1:AAAA"}); codeOf(err) != CodeBadContactCode {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := alice.s.AddContact(ctx, ContactAddParams{Code: mustID(t, carol).Code, Name: "bob"}); codeOf(err) != CodeAmbiguous {
		t.Fatalf("name reuse: %v", err)
	}

	g, err := alice.s.CreateGroup(ctx, GroupCreateParams{Name: "Trip", Description: "Saturday", Members: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Admin || len(g.Members) != 3 || g.Members[0].Name != "alice" || !g.Members[0].Admin || !g.Members[0].Self {
		t.Fatalf("group view %+v", g)
	}
	bob.waitEvent(t, "bob joined", func(e EventView) bool {
		return e.Type == EventJoined && e.Group == g.ID && strings.Contains(e.Text, `alice added you to "Trip"`)
	})
	carol.waitEvent(t, "carol joined", func(e EventView) bool { return e.Type == EventJoined })

	// Group references: name (case-insensitive), id, prefix.
	for _, ref := range []string{"Trip", "trip", g.ID, g.ID[:8]} {
		if got, err := bob.s.ResolveGroup(ctx, ref); err != nil || got.ID.String() != g.ID {
			t.Fatalf("resolve %q: %v", ref, err)
		}
	}
	if _, err := bob.s.ResolveGroup(ctx, "nope"); codeOf(err) != CodeUnknownGroup {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := alice.s.CreateGroup(ctx, GroupCreateParams{Name: "trip", Members: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.s.ResolveGroup(ctx, "Trip"); codeOf(err) != CodeAmbiguous {
		t.Fatalf("ambiguous name: %v", err)
	}

	// Messages through Dispatch (the socket's path).
	raw, _ := json.Marshal(SendParams{Group: g.ID, Text: "hello"})
	res, err := alice.s.Dispatch(ctx, "send", raw)
	if err != nil {
		t.Fatal(err)
	}
	sent := res.(MessageView)
	if !sent.Outgoing || sent.Status != "published" || sent.Text != "hello" || sent.SenderName != "alice" {
		t.Fatalf("sent %+v", sent)
	}
	ev := bob.waitEvent(t, "bob receives", func(e EventView) bool { return e.Type == EventMessage && e.Message.Kind == "text" })
	if ev.Message.Text != "hello" || ev.Message.SenderName != "alice" || ev.Message.ID != sent.ID {
		t.Fatalf("received %+v", ev.Message)
	}
	msgs, err := bob.s.Read(ctx, ReadParams{Group: g.ID})
	if err != nil || len(msgs) == 0 || msgs[len(msgs)-1].Text != "hello" {
		t.Fatalf("read %v %v", msgs, err)
	}

	// Only admins change the group.
	if _, err := bob.s.Rename(ctx, GroupTextParams{Group: g.ID, Text: "Mine"}); codeOf(err) != CodeNotAdmin {
		t.Fatalf("bob renames: %v", err)
	}
	if _, err := bob.s.RemoveMembers(ctx, GroupMembersParams{Group: g.ID, Members: []string{"alice"}}); codeOf(err) != CodeNotAdmin {
		t.Fatalf("bob removes: %v", err)
	}
	if _, err := alice.s.Rename(ctx, GroupTextParams{Group: g.ID, Text: "Big trip"}); err != nil {
		t.Fatal(err)
	}
	bob.waitEvent(t, "rename seen", func(e EventView) bool {
		return e.Type == EventMembership && strings.Contains(e.Text, `renamed the group to "Big trip"`)
	})

	// Removal: carol is told, and can no longer send.
	if _, err := alice.s.RemoveMembers(ctx, GroupMembersParams{Group: g.ID, Members: []string{carolID.ID}}); err != nil {
		t.Fatal(err)
	}
	carol.waitEvent(t, "carol removed", func(e EventView) bool { return e.Type == EventMembership && e.Removed })
	if _, err := carol.s.Send(ctx, SendParams{Group: g.ID, Text: "still here"}); codeOf(err) != CodeNotMember {
		t.Fatalf("removed member sends: %v", err)
	}
	if _, err := alice.s.RemoveMembers(ctx, GroupMembersParams{Group: g.ID, Members: []string{carolID.ID}}); codeOf(err) != CodeNotMember {
		t.Fatalf("removing a non-member: %v", err)
	}
	info, _ := carol.s.GroupInfo(ctx, g.ID)
	if info.Status != "removed" {
		t.Fatalf("carol's view: %+v", info)
	}

	// Membership messages say who changed what (issue 18 item 11), on both sides.
	// (Creation is each member's Welcome, not a group message.)
	// Bob has no name for Carol: a short id.
	for name, who := range map[string]*person{"alice": alice, "bob": bob} {
		// Alice reads her own changes as "you" (issue 18 item 9).
		wantNotes := []string{"· you renamed the group to \"Big trip\"", "· you removed carol"}
		if name == "bob" {
			wantNotes = []string{"· alice renamed the group to \"Big trip\"", "· alice removed " + ShortID(carolID.ID)}
		}
		var lines []string
		deadline := time.Now().Add(10 * time.Second)
		for {
			msgs, err := who.s.Read(ctx, ReadParams{Group: g.ID})
			if err != nil {
				t.Fatal(err)
			}
			lines = lines[:0]
			for _, m := range msgs {
				if m.Kind == "membership" {
					lines = append(lines, m.String())
				}
				if strings.Contains(m.Text, "cannot show") || m.Kind == "unknown" {
					t.Fatalf("%s reads %q", name, m)
				}
			}
			all := strings.Join(lines, "\n")
			ok := true
			for _, w := range wantNotes {
				ok = ok && strings.Contains(all, w)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s reads membership notices:\n%s", name, all)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Bob names Carol, whom he only met in the group (as a linked device names the
	// contacts it received): the notices use the name.
	if _, err := bob.s.NameContact(ctx, ContactNameParams{Contact: carolID.ID[:12], Name: "carol"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.s.NameContact(ctx, ContactNameParams{Contact: "me", Name: "x"}); codeOf(err) != CodeUsage {
		t.Fatalf("naming oneself: %v", err)
	}
	msgs, err = bob.s.Read(ctx, ReadParams{Group: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	if last := msgs[len(msgs)-1].String(); !strings.HasSuffix(last, "· alice removed carol") {
		t.Fatalf("after naming: %q", last)
	}
}

func mustID(t *testing.T, p *person) IDView {
	id, err := p.s.ID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDispatchErrors(t *testing.T) {
	ctx := context.Background()
	p := newPeople(t, "alice")
	s := p["alice"].s
	if _, err := s.Dispatch(ctx, "frob", nil); codeOf(err) != CodeUsage {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := s.Dispatch(ctx, "read", json.RawMessage(`{"group": 5}`)); codeOf(err) != CodeUsage {
		t.Fatalf("bad params: %v", err)
	}
	if _, err := s.Dispatch(ctx, "devices.revoke", json.RawMessage(`{"installation":"00"}`)); codeOf(err) != CodeUnknownDevice {
		t.Fatalf("revoke an unknown device: %v", err)
	}
	a, _ := s.Client().Account()
	if _, err := s.Dispatch(ctx, "devices.revoke", json.RawMessage(`{"installation":"`+a.Installation.String()+`"}`)); codeOf(err) != CodeNotAllowed {
		t.Fatalf("revoke ourselves: %v", err)
	}
	if _, err := s.Dispatch(ctx, "devices.link", json.RawMessage(`{"code":"chorus1:AAAA"}`)); codeOf(err) != CodeBadLinkCode {
		t.Fatalf("link with a contact code: %v", err)
	}
	if _, err := s.Dispatch(ctx, "devices.link", json.RawMessage(`{"code":"chorus-link1:AAAA"}`)); codeOf(err) != CodeBadLinkCode {
		t.Fatalf("link with a bad code: %v", err)
	}
	if _, err := s.Dispatch(ctx, "send", json.RawMessage(`{"group":"x","text":""}`)); codeOf(err) != CodeUnknownGroup {
		t.Fatalf("send to unknown group: %v", err)
	}
	off := NewService(s.Client(), "", nil, Config{}, fakeNet{peers: 0}, false)
	if _, err := off.Dispatch(ctx, "group.create", json.RawMessage(`{"name":"x"}`)); codeOf(err) != CodeNoPeers {
		t.Fatalf("no peers: %v", err)
	}
	none := NewService(s.Client(), "", nil, Config{}, nil, false)
	if _, err := none.Dispatch(ctx, "send", json.RawMessage(`{"group":"x","text":"y"}`)); codeOf(err) != CodeNoPeers {
		t.Fatalf("no network: %v", err)
	}
	ds, err := s.Dispatch(ctx, "devices.list", nil)
	if err != nil || len(ds.([]DeviceView)) != 1 {
		t.Fatalf("devices: %v %v", ds, err)
	}
}

func TestClassify(t *testing.T) {
	for err, code := range map[error]string{
		protocol.ErrUnknownGroup:                        CodeUnknownGroup,
		fmt.Errorf("x: %w", protocol.ErrNotAdmin):       CodeNotAdmin,
		protocol.ErrNotMember:                           CodeNotMember,
		protocol.ErrBadContactCode:                      CodeBadContactCode,
		protocol.ErrUnknownContact:                      CodeUnknownContact,
		protocol.ErrNoAccount:                           CodeNoAccount,
		fmt.Errorf("publish: %w", transport.ErrNoPeers): CodeNoPeers,
		Errorf(CodeAmbiguous, "x"):                      CodeAmbiguous,
		errors.New("boom"):                              CodeInternal,
	} {
		if got := Classify(err).Code; got != code {
			t.Errorf("%v: %s, want %s", err, got, code)
		}
	}
	if Classify(nil) != nil {
		t.Error("nil error classified")
	}
}

// TestDispatchTable walks every method of the table: each refuses params that are not a
// JSON object with CodeUsage (nothing runs), and exactly the publishing methods fail with
// CodeNoPeers on a service without a network (checked before the params are read).
func TestDispatchTable(t *testing.T) {
	ctx := context.Background()
	p := newPeople(t, "alice")
	s := p["alice"].s
	none := NewService(s.Client(), "", nil, Config{}, nil, false)
	publishing := map[Method]bool{
		MethodGroupCreate: true, MethodGroupAdd: true, MethodGroupRemove: true, MethodGroupLeave: true,
		MethodGroupRename: true, MethodGroupDescribe: true, MethodSend: true,
		MethodDevicesLink: true, MethodDevicesRevoke: true, MethodDevicesRemove: true, MethodContactShare: true,
	}
	names := MethodNames()
	if len(names) != 22 {
		t.Fatalf("%d methods, want 22: %v", len(names), names)
	}
	for _, m := range names {
		if got := NeedsNetwork(string(m)); got != publishing[m] {
			t.Errorf("%s: NeedsNetwork = %v", m, got)
		}
		_, err := none.Dispatch(ctx, string(m), json.RawMessage(`[1]`))
		if publishing[m] {
			if codeOf(err) != CodeNoPeers {
				t.Errorf("%s without a network: %v", m, err)
			}
		} else {
			if codeOf(err) != CodeUsage {
				t.Errorf("%s with bad params: %v", m, err)
			}
		}
	}
}
