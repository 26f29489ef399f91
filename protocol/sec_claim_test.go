package protocol_test

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// parseCode decodes a contact code into its device list.
func parseCode(t *testing.T, code string) *devicelist.List {
	t.Helper()
	cc, err := protocol.ParseContactCode(code)
	if err != nil {
		t.Fatal(err)
	}
	list, err := devicelist.Parse(cc.DeviceList)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestSecInstallationClaim (issue 12, hole 1): Mallory signs a device list holding her
// installation plus Alice's second installation (id and keys copied from Alice's contact
// code). Bob merges Mallory's list first. The entry must be refused: Alice's installation
// stays Alice's at Bob (listed under Alice, its group messages attributed to Alice, and
// Alice's revocation of it applies at Bob).
func TestSecInstallationClaim(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 121}, 0)
	ctx := context.Background()
	alice, bob := tn.add("alice"), tn.add("bob")
	mkey, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	mallory := tn.newClient("mallory", "", func(c *protocol.Client) error {
		_, err := c.ImportAccount(ctx, mkey)
		return err
	})
	tn.connect(alice, mallory)
	a1 := tn.link(alice, "alice1")
	a1info, err := a1.c.Account()
	if err != nil {
		t.Fatal(err)
	}
	a1id := a1info.Installation

	// Wait until Alice's contact code lists alice1 in a form a peer accepts.
	pst, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer pst.Close()
	probe, err := protocol.New(ctx, pst, memory.NewNetwork(memory.Config{}).Join("probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if _, err := probe.CreateAccount(ctx); err != nil {
		t.Fatal(err)
	}
	var aliceCode string
	tn.waitFor("alice's device list lists alice1", func() bool {
		code, err := alice.c.ContactCode(ctx)
		if err != nil {
			return false
		}
		cc, err := protocol.ParseContactCode(code)
		if err != nil || protocol.MergeDeviceListForTest(probe, cc.DeviceList) != nil {
			return false
		}
		list, _ := protocol.DeviceListOf(probe, alice.id)
		aliceCode = code
		return !list[a1id] && len(list) == 2
	})

	// Mallory's forged list: her own device list plus alice1's entry, copied, at a higher clock.
	alist := parseCode(t, aliceCode)
	i := slices.IndexFunc(alist.Entries, func(e devicelist.Entry) bool { return e.ID == a1id })
	if i < 0 {
		t.Fatal("alice1 not in alice's device list")
	}
	mcode, err := mallory.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mlist := parseCode(t, mcode)
	mlist.Entries = append(mlist.Entries, alist.Entries[i])
	mlist.Clock++
	forged := protocol.ContactCodePrefix + base64.RawURLEncoding.EncodeToString(protocol.SignDeviceListForTest(mkey, mlist))

	// Bob merges Mallory's list first, then Alice's.
	if _, err := bob.c.AddContact(ctx, forged); err != nil {
		t.Logf("forged device list refused as a whole: %v", err)
	}
	if ct, err := bob.c.Contact(ctx, mallory.id); err == nil && slices.Contains(ct.Installations, a1id) {
		t.Errorf("bob binds alice1 to mallory")
	}
	if _, err := bob.c.AddContact(ctx, aliceCode); err != nil {
		t.Fatal(err)
	}
	if ct, err := bob.c.Contact(ctx, alice.id); err != nil || !slices.Contains(ct.Installations, a1id) {
		t.Errorf("bob does not list alice1 under alice: %+v %v", ct, err)
	}

	// A group of alice, bob and mallory: alice1's message is alice's at bob.
	bcode, err := bob.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.AddContact(ctx, bcode); err != nil {
		t.Fatal(err)
	}
	g, err := alice.c.CreateGroup(ctx, "g", "", bob.id, mallory.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor("everyone in the group", func() bool {
		for _, p := range []*peer{a1, bob, mallory} {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	if _, err := a1.c.Send(ctx, g, protocol.Text("from alice1")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("bob reads alice1", func() bool { return bob.texts(g)["from alice1"] == 1 })
	msgs, err := bob.c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Content.Text == "from alice1" && (m.Sender != alice.id || m.SenderInstallation != a1id) {
			t.Errorf("alice1's message attributed to %.12s (mallory %.12s, alice %.12s)", m.Sender, mallory.id, alice.id)
		}
	}

	// Alice revokes alice1: bob applies it.
	if err := alice.c.RevokeInstallation(ctx, a1id); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("bob applies alice's revocation of alice1", func() bool {
		list, _ := protocol.DeviceListOf(bob.c, alice.id)
		revoked, ok := list[a1id]
		return ok && revoked
	})
	if list, _ := protocol.DeviceListOf(bob.c, mallory.id); len(list) != 1 {
		t.Errorf("bob lists %d installations for mallory, want 1", len(list))
	}
}
