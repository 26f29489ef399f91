package protocol_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport/memory"
	"github.com/chorus-im/chorus/x3dh"
)

// TestMultiDevice: Alice on three devices (one holder, two linked) in a group with Bob
// and Carol; every device sends and every device receives every message once, with the
// same message id everywhere. A fourth device linked later reads new messages at once
// (and none from before). A lost device, revoked while it keeps running and gets all
// traffic, reads nothing sent after the revocation was processed, and what it sends is
// refused.
func TestMultiDevice(t *testing.T) { multiDevice(t, memory.Config{Seed: 71}) }

// TestMultiDeviceLossy is TestMultiDevice with 10% loss, duplication and reordering
// (history fills the gaps).
func TestMultiDeviceLossy(t *testing.T) {
	multiDevice(t, memory.Config{Seed: 79, DropRate: 0.10, DuplicateRate: 0.10, ReorderRate: 0.10,
		Delay: time.Millisecond, Jitter: time.Millisecond})
}

func multiDevice(t *testing.T, cfg memory.Config) {
	tn := newTestNet(t, cfg, 0)
	a0, bob, carol := tn.add("alice0"), tn.add("bob"), tn.add("carol")
	tn.connect(a0, bob, carol)
	ctx := context.Background()
	a1 := tn.link(a0, "alice1")
	a2 := tn.link(a0, "alice2")
	if a1.id != a0.id || a2.id != a0.id {
		t.Fatal("linked devices report another account")
	}
	if info, _ := a1.c.Account(); info.Holder {
		t.Fatal("a linked installation claims the account key")
	}
	g, err := a0.c.CreateGroup(ctx, "multi-device", "", bob.id, carol.id)
	if err != nil {
		t.Fatal(err)
	}
	all := []*peer{a0, a1, a2, bob, carol}
	tn.waitFor("everyone joined", func() bool {
		for _, p := range all {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	expect := map[*peer]map[string]bool{}
	talk := func(round string, senders, readers []*peer) {
		t.Helper()
		for _, p := range senders {
			text := round + "/" + p.name
			if _, err := p.c.Send(ctx, g, protocol.Text(text)); err != nil {
				t.Fatalf("%s: send: %v", p.name, err)
			}
			for _, q := range readers {
				if expect[q] == nil {
					expect[q] = map[string]bool{}
				}
				expect[q][text] = true
			}
		}
		missing := ""
		tn.waitFor(round+" delivered", func() bool {
			for _, q := range readers {
				texts := q.texts(g)
				for text := range expect[q] {
					if texts[text] != 1 {
						missing = fmt.Sprintf("%s has %q %d times", q.name, text, texts[text])
						return false
					}
				}
			}
			return true
		}, func() string { return missing })
	}
	talk("r1", all, all)
	ref := messageIDs(t, bob, g)
	for _, p := range all {
		for text, id := range messageIDs(t, p, g) {
			if ref[text] != id {
				t.Fatalf("%s: message %q has id %s, bob has %s", p.name, text, id, ref[text])
			}
		}
	}

	// A fourth device, linked into the running group, reads the next message at once.
	a3 := tn.link(a0, "alice3")
	if n := len(a3.texts(g)); n != 0 {
		t.Fatalf("new device holds %d older messages", n)
	}
	all = append(all, a3)
	talk("r2-first", []*peer{bob}, all)
	talk("r2", all, all)

	// Names and statuses as the holder and a linked device see them.
	list, err := a1.c.Installations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("a1 sees %d installations", len(list))
	}
	names := map[protocol.InstallationID]string{}
	for _, in := range list {
		names[in.ID] = in.Name
		if in.Current != (in.ID == installationOf(t, a1)) || in.Status != protocol.InstallationActive {
			t.Fatalf("a1: installation %+v", in)
		}
	}
	if names[installationOf(t, a3)] != "alice3" || names[installationOf(t, a2)] != "alice2" {
		t.Fatalf("names %v", names)
	}

	// Alice loses alice2: it keeps running and receiving everything.
	lost := installationOf(t, a2)
	if err := a1.c.RevokeInstallation(ctx, lost); !errors.Is(err, protocol.ErrNotAccountHolder) {
		t.Fatalf("linked device revoked: %v", err)
	}
	if err := a0.c.RevokeInstallation(ctx, lost); err != nil {
		t.Fatal(err)
	}
	rest := []*peer{a0, a1, a3, bob, carol}
	tn.waitFor("revocation processed", func() bool {
		for _, p := range []*peer{bob, carol} {
			ct, err := p.c.Contact(ctx, a0.id)
			if err != nil || slices.Contains(ct.Installations, lost) {
				return false
			}
		}
		for _, p := range []*peer{a1, a3} {
			list, err := p.c.Installations(ctx)
			if err != nil {
				return false
			}
			for _, in := range list {
				if in.ID == lost && in.Status != protocol.InstallationRevoked {
					return false
				}
			}
		}
		return true
	})
	if _, err := a2.c.Send(ctx, g, protocol.Text("ghost from the lost device")); err != nil {
		t.Logf("lost device send: %v", err)
	}
	talk("r3", rest, rest)
	tn.settle()
	if got := a2.texts(g); got["r2/bob"] != 1 || got["r2/alice3"] != 1 {
		t.Fatalf("the lost device did not read before its revocation: %v", got)
	}
	for text := range a2.texts(g) {
		if strings.HasPrefix(text, "r3") {
			t.Errorf("revoked device read %q", text)
		}
	}
	for _, p := range rest {
		if p.texts(g)["ghost from the lost device"] != 0 {
			t.Errorf("%s accepted a message of the revoked device", p.name)
		}
	}
	if _, err := a0.c.LinkDevice(ctx, "chorus-link1:AAAA", "x"); !errors.Is(err, protocol.ErrBadLinkCode) {
		t.Fatalf("bad code: %v", err)
	}
}

// TestRemoveInstallation: a device we still have is removed politely: it learns it, leaves
// its groups and forgets their keys; it cannot be re-added.
func TestRemoveInstallation(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 73}, 0)
	a0, bob := tn.add("alice0"), tn.add("bob")
	tn.connect(a0, bob)
	ctx := context.Background()
	g, err := a0.c.CreateGroup(ctx, "g", "", bob.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	a1 := tn.link(a0, "alice1")
	if _, err := a1.c.Send(ctx, g, protocol.Text("from a1")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("a1's message", func() bool { return bob.texts(g)["from a1"] == 1 && a0.texts(g)["from a1"] == 1 })
	id := installationOf(t, a1)
	if err := a0.c.RemoveInstallation(ctx, installationOf(t, a0)); !errors.Is(err, protocol.ErrCurrentInstallation) {
		t.Fatalf("self removal: %v", err)
	}
	if err := a0.c.RemoveInstallation(ctx, id); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("removed device winds down", func() bool {
		info, err := a1.c.Group(ctx, g)
		acct, _ := a1.c.Account()
		return err == nil && info.Status == protocol.GroupRemoved && acct.Revoked
	})
	currentRevoked := func() int {
		return len(a1.eventsOf(func(e protocol.Event) bool {
			ic, ok := e.(*protocol.InstallationsChanged)
			return ok && ic.CurrentRevoked
		}))
	}
	// Events reach the subscriber after the state is stored: wait for it, then make sure
	// no second one follows.
	tn.waitFor("the CurrentRevoked event", func() bool { return currentRevoked() > 0 })
	tn.settle()
	if n := currentRevoked(); n != 1 {
		t.Fatalf("removed device got %d CurrentRevoked events", n)
	}
	if _, err := a1.c.Send(ctx, g, protocol.Text("after removal")); err == nil {
		t.Fatal("removed device could still send")
	}
	if _, err := bob.c.Send(ctx, g, protocol.Text("bob after removal")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("bob's message", func() bool { return a0.texts(g)["bob after removal"] == 1 })
	tn.settle()
	if a1.texts(g)["bob after removal"] != 0 {
		t.Fatal("removed device read a later message")
	}
}

// linkSecret decodes a link code's pairing secret.
func linkSecret(t testing.TB, code string) [16]byte {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(code, "chorus-link1:"))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := wire.ParseLinkCode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return lc.Secret
}

// linkIdentity decodes a link code's installation identity.
func linkIdentity(t testing.TB, code string) x3dh.PublicIdentity {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(code, "chorus-link1:"))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := wire.ParseLinkCode(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := x3dh.ParseBundle(lc.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	return b.Identity
}

func listedIdentities(t testing.TB, p *peer) []devicelist.Entry {
	code, err := p.c.ContactCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := protocol.ParseContactCode(code)
	if err != nil {
		t.Fatal(err)
	}
	list, err := devicelist.Parse(cc.DeviceList)
	if err != nil {
		t.Fatal(err)
	}
	return list.Entries
}

// TestLinkPRIV2 captures everything published on the network from account creation through
// a group's creation to the linking of a device and its first message, and checks that no
// account key, installation id, installation key, device name or platform appears in clear
// in any payload or topic (PRIV2).
func TestLinkPRIV2(t *testing.T) {
	start := time.Now()
	tn := newTestNet(t, memory.Config{Seed: 74}, 0)
	a0, bob := tn.add("alice0"), tn.add("bob")
	tn.connect(a0, bob)
	ctx := context.Background()
	g, err := a0.c.CreateGroup(ctx, "g", "", bob.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	const deviceName, platform = "Alice's secret laptop", "testos"
	d, code := tn.newDevice("alice-new")
	if _, err := a0.c.LinkDevice(ctx, code, deviceName); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("linked", func() bool { _, err := d.c.Group(ctx, g); return err == nil })
	if _, err := d.c.Send(ctx, g, protocol.Text("hello from the new device")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("delivered", func() bool { return bob.texts(g)["hello from the new device"] == 1 })
	tn.settle()

	var secrets [][]byte
	addKey := func(b []byte) {
		secrets = append(secrets, b, []byte(hex.EncodeToString(b)))
	}
	for _, p := range []*peer{a0, bob} {
		pub := accountPubOf(t, p.id)
		addKey(pub)
		k, err := crypto.UnmarshalPubkey(pub)
		if err != nil {
			t.Fatal(err)
		}
		addKey(crypto.CompressPubkey(k))
		secrets = append(secrets, []byte(p.id))
		for _, in := range listedIdentities(t, p) {
			addKey(in.ID[:])
			addKey(in.DH[:])
			addKey(in.Signing[:])
		}
	}
	id := linkIdentity(t, code)
	addKey(id.ID[:])
	addKey(id.DH[:])
	addKey(id.Signing[:])
	secrets = append(secrets, []byte(deviceName), []byte(platform), []byte("alice-new"))

	var all []string
	for i := range topics.InboxPartitions {
		all = append(all, topics.ContentTopic(fmt.Sprintf("inbox-%d", i)))
	}
	for i := range topics.AnnouncePartitions {
		all = append(all, topics.ContentTopic(fmt.Sprintf("announce-%d", i)))
	}
	info, _ := a0.c.Group(ctx, g)
	all = append(all, info.Topic)
	envs, err := tn.peers[0].node.History(ctx, all, start.Add(-time.Minute), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if pubs := tn.net.Stats().Publishes; int64(len(envs)) != pubs {
		t.Fatalf("captured %d of %d publishes", len(envs), pubs)
	}
	for _, e := range envs {
		for _, s := range secrets {
			if bytes.Contains(e.Payload, s) || strings.Contains(e.Topic, string(s)) {
				t.Fatalf("publish on %s reveals %q", e.Topic, s)
			}
		}
	}
	t.Logf("PRIV2: %d publishes checked against %d secrets", len(envs), len(secrets))
}

// TestLinkedDeviceRestart: a device waiting to be linked restarts and shows the same code;
// linked, it restarts again and keeps reading and sending.
func TestLinkedDeviceRestart(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 83}, 0)
	a0, bob := tn.add("alice0"), tn.add("bob")
	tn.connect(a0, bob)
	ctx := context.Background()
	g, err := a0.c.CreateGroup(ctx, "g", "", bob.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	var code string
	d := tn.newClient("alice1", filepath.Join(t.TempDir(), "alice1.db"), func(c *protocol.Client) error {
		var err error
		code, err = c.LinkCode(ctx)
		return err
	})
	d.restart()
	again, err := d.c.LinkCode(ctx)
	if err != nil || linkIdentity(t, again) != linkIdentity(t, code) || linkSecret(t, again) != linkSecret(t, code) {
		t.Fatalf("code after restart names another installation or secret (%v)", err)
	}
	if _, err := a0.c.LinkDevice(ctx, code, "alice1"); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("linked", func() bool { _, err := d.c.Group(ctx, g); return err == nil })
	d.restart()
	info, err := d.c.Account()
	if err != nil || info.Holder || info.ID != a0.id {
		t.Fatalf("after restart: %+v %v", info, err)
	}
	// Bob learns the device once its binding reached alice0 and she announced it (bob
	// has sent nothing yet, so the Welcome forwarded no state of his).
	tn.waitFor("bob knows the device", func() bool {
		ct, err := bob.c.Contact(ctx, a0.id)
		return err == nil && slices.Contains(ct.Installations, info.Installation)
	})
	if _, err := bob.c.Send(ctx, g, protocol.Text("to the restarted device")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.Send(ctx, g, protocol.Text("from the restarted device")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("both ways", func() bool {
		return d.texts(g)["to the restarted device"] == 1 && bob.texts(g)["from the restarted device"] == 1 &&
			a0.texts(g)["from the restarted device"] == 1
	})
}
