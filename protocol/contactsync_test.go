package protocol_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestLinkedDeviceGetsContactNames (issue 18 item 9): a device linked after Alice named
// Bob sees the name, knows Bob's announcement secret (from his code) and Alice's own.
func TestLinkedDeviceGetsContactNames(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{Seed: 53}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	if err := a.c.SetContactName(ctx, b.id, "Bob"); err != nil {
		t.Fatal(err)
	}
	if ct, err := a.c.Contact(ctx, b.id); err != nil || ct.Name != "Bob" || !ct.Announcements {
		t.Fatalf("named contact: %+v %v", ct, err)
	}
	if err := a.c.SetContactName(ctx, a.id, "me"); err == nil {
		t.Fatal("named our own account")
	}
	d := tn.link(a, "laptop")
	tn.waitFor("the laptop knows bob by name", func() bool {
		ct, err := d.c.Contact(ctx, b.id)
		return err == nil && ct.Name == "Bob" && ct.Added && ct.Announcements
	}, func() string { ct, err := d.c.Contact(ctx, b.id); return ct.Name + " " + errString(err) })
	if !bytes.Equal(protocol.AnnounceSecretForTest(d.c), protocol.AnnounceSecretForTest(a.c)) || protocol.AnnounceSecretForTest(d.c) == nil {
		t.Fatal("the linked device lacks the account's announcement secret")
	}
	// The linked device's contact code carries the secret: it can be shared from there.
	code, err := d.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := tn.add("carol")
	if ct, err := c.c.AddContact(ctx, code); err != nil || !ct.Announcements {
		t.Fatalf("code from the linked device: %+v %v", ct, err)
	}
	// Revoked, the laptop forgets the secret (it must not read or make announcements).
	info, err := d.c.Account()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.c.RemoveInstallation(ctx, info.Installation); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("the removed laptop drops the secret", func() bool { return protocol.AnnounceSecretForTest(d.c) == nil })
}

// TestContactRenameSynced (issue 18 item 9): a rename (or a new contact) on one device
// reaches the account's other device, both ways; names never reach the contact.
func TestContactRenameSynced(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{Seed: 59}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	d := tn.link(a, "laptop")
	name := func(p *peer, id string) string {
		ct, err := p.c.Contact(ctx, id)
		if err != nil {
			return "?" + err.Error()
		}
		return ct.Name
	}
	tn.waitFor("the laptop has bob", func() bool { _, err := d.c.Contact(ctx, b.id); return err == nil })
	if err := d.c.SetContactName(ctx, b.id, "Bobby"); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("rename on the laptop reaches the phone", func() bool { return name(a, b.id) == "Bobby" },
		func() string { return name(a, b.id) })
	if err := a.c.SetContactName(ctx, b.id, "Robert"); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("rename on the phone reaches the laptop", func() bool { return name(d, b.id) == "Robert" },
		func() string { return name(d, b.id) })
	// A contact added on the phone appears, named, on the laptop.
	c := tn.add("carol")
	code, err := c.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.AddContact(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := a.c.SetContactName(ctx, c.id, "Carol"); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("new contact reaches the laptop", func() bool {
		ct, err := d.c.Contact(ctx, c.id)
		return err == nil && ct.Added && ct.Name == "Carol" && ct.Announcements
	}, func() string { return name(d, c.id) })
	// Bob never learns what Alice calls him.
	if ct, err := b.c.Contact(ctx, a.id); err != nil || ct.Name != "" {
		t.Fatalf("bob's view of alice: %+v %v", ct, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
