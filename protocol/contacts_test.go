package protocol_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFetchContactByAccountKey reaches an account by its key and the announcement secret
// its contact code gave (its encrypted announcement, with one-time prekeys), starts a
// group with it and exchanges replies and reactions.
func TestFetchContactByAccountKey(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 31}, 2)
	a, b := tn.peers[0], tn.peers[1]
	ctx := context.Background()
	if err := b.c.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := b.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.AddContact(ctx, code); err != nil {
		t.Fatal(err)
	}
	ct, err := a.c.FetchContact(ctx, b.id)
	if err != nil {
		t.Fatal(err)
	}
	if ct.ID != b.id || len(ct.Installations) != 1 {
		t.Fatalf("contact %+v", ct)
	}
	if _, err := a.c.FetchContact(ctx, a.id[:len(a.id)-2]+"00"); err == nil {
		t.Fatal("fetched a contact that never announced")
	}
	g, err := a.c.CreateGroup(ctx, "by key", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	id, err := a.c.Send(ctx, g, protocol.Text("question"))
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if _, err := b.c.Send(ctx, g, protocol.Reply(id, "answer")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Send(ctx, g, protocol.Reaction(id, "👍")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	msgs, _ := a.c.Messages(ctx, g, protocol.MessageFilter{})
	var reply, reaction bool
	for _, m := range msgs {
		switch m.Content.Type {
		case protocol.ContentReply:
			reply = m.Content.Target == id && m.Content.Text == "answer" && m.Sender == b.id
		case protocol.ContentReaction:
			reaction = m.Content.Target == id && m.Content.Emoji == "👍"
		}
	}
	if !reply || !reaction {
		t.Fatalf("reply %v reaction %v", reply, reaction)
	}
	// Paging and status filters.
	page, _ := a.c.Messages(ctx, g, protocol.MessageFilter{Limit: 2})
	older, _ := a.c.Messages(ctx, g, protocol.MessageFilter{Limit: 2, Before: page[1].Seq})
	if len(page) != 2 || len(older) != 1 || older[0].ID != id {
		t.Fatalf("paging: %d then %d", len(page), len(older))
	}
	pub, _ := a.c.Messages(ctx, g, protocol.MessageFilter{HasStatus: true, Status: protocol.StatusPublished})
	if len(pub) != 1 || pub[0].ID != id {
		t.Fatalf("published filter: %d", len(pub))
	}
}

func TestBadInputs(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 37}, 2)
	a, b := tn.peers[0], tn.peers[1]
	ctx := context.Background()
	if _, err := a.c.AddContact(ctx, "chorus1:AAAA"); !errors.Is(err, protocol.ErrBadContactCode) {
		t.Fatalf("bad code: %v", err)
	}
	code, _ := b.c.ContactCode(ctx)
	tampered := code[:100] + strings.Repeat("A", 8) + code[108:] // inside the signed device list
	if _, err := a.c.AddContact(ctx, tampered); !errors.Is(err, protocol.ErrBadContactCode) {
		t.Fatalf("tampered code: %v", err)
	}
	if _, err := a.c.CreateGroup(ctx, "g", "", b.id); !errors.Is(err, protocol.ErrUnknownContact) {
		t.Fatalf("unknown contact: %v", err)
	}
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "g", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if err := b.c.SetName(ctx, g, "not an admin"); !errors.Is(err, protocol.ErrNotAdmin) {
		t.Fatalf("member renaming: %v", err)
	}
	if _, err := a.c.Send(ctx, protocol.GroupID{1}, protocol.Text("x")); !errors.Is(err, protocol.ErrUnknownGroup) {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := a.c.Send(ctx, g, protocol.Text("\xff")); !errors.Is(err, protocol.ErrInvalidContent) {
		t.Fatalf("invalid text: %v", err)
	}
	if err := a.c.AddAdmins(ctx, g, b.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if err := b.c.SetName(ctx, g, "now an admin"); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if info, _ := a.c.Group(ctx, g); info.Name != "now an admin" || len(info.Admins) != 2 {
		t.Fatalf("after admin rename: %+v", info)
	}
	if _, err := a.c.CreateAccount(ctx); !errors.Is(err, protocol.ErrAccountExists) {
		t.Fatalf("second account: %v", err)
	}
	if err := a.c.Run(ctx); !errors.Is(err, protocol.ErrRunning) {
		t.Fatalf("second Run: %v", err)
	}
}
