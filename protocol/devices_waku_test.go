package protocol_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/waku"
)

// TestWakuMultiDevice runs multi-device over real go-waku nodes in-process on loopback (a
// store node and one relay node per client): Alice on three devices in a group with Bob
// and Carol, everyone sends and every device receives; a fourth device linked later reads
// the next message; a lost device, revoked while it keeps running, reads nothing after;
// and nothing any client published during the link shows an account key, installation
// id or key, or the device name in clear (PRIV2).
func TestWakuMultiDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("real go-waku nodes: skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	hub, err := waku.New(ctx, waku.Config{Store: true, StorePath: ":memory:", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	type client struct {
		name string
		node *waku.Node
		rec  *chorustest.Meter
		c    *protocol.Client
		id   string
		run  *chorustest.Running
	}
	var clients []*client
	start := func(name string, setup func(c *protocol.Client) error) *client {
		node, err := waku.New(ctx, waku.Config{Peers: hub.ListenAddrs(), StorePeers: hub.ListenAddrs(), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for node.PeerCount() < 1 {
			if time.Now().After(deadline) {
				t.Fatal("no peers")
			}
			time.Sleep(5 * time.Millisecond)
		}
		store, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		rec := chorustest.NewMeter(node)
		c, err := protocol.New(ctx, store, rec, protocol.WithRetryBackoff(50*time.Millisecond), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0),
			protocol.WithDevice(name, "testos"))
		if err != nil {
			t.Fatal(err)
		}
		if err := setup(c); err != nil {
			t.Fatal(err)
		}
		cl := &client{name: name, node: node, rec: rec, c: c}
		if info, err := c.Account(); err == nil {
			cl.id = info.ID
		}
		cl.run = chorustest.Start(ctx, c, nil)
		clients = append(clients, cl)
		t.Cleanup(func() {
			cl.run.Stop()
			cl.c.Close()
			cl.node.Close()
			store.Close()
		})
		return cl
	}
	create := func(c *protocol.Client) error { _, err := c.CreateAccount(ctx); return err }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; !cond(); i++ {
			if time.Now().After(deadline) {
				t.Fatalf("timeout: %s", what)
			}
			if i%10 == 9 {
				for _, cl := range clients {
					_ = cl.c.Sync(ctx)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	count := func(cl *client, g protocol.GroupID, text string) int {
		msgs, _ := cl.c.Messages(ctx, g, protocol.MessageFilter{})
		n := 0
		for _, m := range msgs {
			if m.Content.Type == protocol.ContentText && m.Content.Text == text {
				n++
			}
		}
		return n
	}
	link := func(holder *client, name string) *client {
		var code string
		d := start(name, func(c *protocol.Client) error {
			var err error
			code, err = c.LinkCode(ctx)
			return err
		})
		if _, err := holder.c.LinkDevice(ctx, code, name); err != nil {
			t.Fatal(err)
		}
		groups, _ := holder.c.Groups(ctx)
		waitFor(name+" linked", func() bool {
			info, err := d.c.Account()
			if err != nil {
				return false
			}
			d.id = info.ID
			for _, g := range groups {
				if _, err := d.c.Group(ctx, g.ID); err != nil {
					return false
				}
			}
			return true
		})
		// The link completes when the new device's binding is back at the holder and the
		// holder told its contacts: wait for that too (under load the next step otherwise
		// races it).
		info, err := d.c.Account()
		if err != nil {
			t.Fatal(err)
		}
		inst := info.Installation
		waitFor(name+" known to the holder's contacts", func() bool {
			for _, cl := range clients {
				if cl == holder || cl == d || cl.id == holder.id {
					continue
				}
				ct, err := cl.c.Contact(ctx, holder.id)
				if err == nil && !slices.Contains(ct.Installations, inst) {
					return false
				}
			}
			return true
		})
		return d
	}
	alice0, bob, carol := start("alice0", create), start("bob", create), start("carol", create)
	for _, a := range []*client{alice0, bob, carol} {
		code, err := a.c.ContactCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []*client{alice0, bob, carol} {
			if a != b {
				if _, err := b.c.AddContact(ctx, code); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	alice1 := link(alice0, "alice1")
	alice2 := link(alice0, "alice2")
	g, err := alice0.c.CreateGroup(ctx, "multi-device over waku", "", bob.id, carol.id)
	if err != nil {
		t.Fatal(err)
	}
	everyone := []*client{alice0, alice1, alice2, bob, carol}
	waitFor("joined", func() bool {
		for _, cl := range everyone {
			if _, err := cl.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	talk := func(round string, senders, readers []*client) {
		t.Helper()
		for _, s := range senders {
			if _, err := s.c.Send(ctx, g, protocol.Text(round+" from "+s.name)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(round, func() bool {
			for _, r := range readers {
				for _, s := range senders {
					if count(r, g, round+" from "+s.name) != 1 {
						return false
					}
				}
			}
			return true
		})
	}
	talk("r1", everyone, everyone)

	// A fourth device, linked now, with every publish of the link recorded.
	mark := map[*client]int{}
	for _, cl := range clients {
		mark[cl] = len(cl.rec.Sent())
	}
	var code string
	const deviceName = "Alice's secret tablet"
	alice3 := start("alice3", func(c *protocol.Client) error {
		var err error
		code, err = c.LinkCode(ctx)
		return err
	})
	if _, err := alice0.c.LinkDevice(ctx, code, deviceName); err != nil {
		t.Fatal(err)
	}
	waitFor("alice3 linked", func() bool { _, err := alice3.c.Group(ctx, g); return err == nil })
	var secrets [][]byte
	lid := linkIdentity(t, code)
	for _, b := range [][]byte{accountPubOf(t, alice0.id), lid.ID[:], lid.DH[:], lid.Signing[:], []byte(deviceName)} {
		secrets = append(secrets, b, []byte(hex.EncodeToString(b)))
	}
	k, _ := crypto.UnmarshalPubkey(accountPubOf(t, alice0.id))
	secrets = append(secrets, crypto.CompressPubkey(k), []byte(alice0.id))
	for _, in := range []protocol.InstallationID{installationOf(t, &peer{t: t, c: alice0.c}), installationOf(t, &peer{t: t, c: alice1.c})} {
		secrets = append(secrets, in[:], []byte(in.String()))
	}
	npubs := 0
	for _, cl := range clients {
		for _, e := range cl.rec.Sent()[mark[cl]:] {
			npubs++
			for _, s := range secrets {
				if bytes.Contains(e.Payload, s) || strings.Contains(e.Topic, string(s)) {
					t.Fatalf("%s published on %s something revealing %x", cl.name, e.Topic, s)
				}
			}
		}
	}
	t.Logf("PRIV2 over waku: %d publishes during the link checked", npubs)
	everyone = append(everyone, alice3)
	talk("r2-first", []*client{bob}, everyone)
	talk("r2", everyone, everyone)

	// alice2 is lost: it keeps running.
	lost, _ := alice2.c.Account()
	if err := alice0.c.RevokeInstallation(ctx, lost.Installation); err != nil {
		t.Fatal(err)
	}
	rest := []*client{alice0, alice1, alice3, bob, carol}
	waitFor("revocation processed", func() bool {
		for _, cl := range []*client{bob, carol} {
			ct, err := cl.c.Contact(ctx, alice0.id)
			if err != nil || slices.Contains(ct.Installations, lost.Installation) {
				return false
			}
		}
		// Alice's other devices too: one that sends r3 before it learns of the revocation
		// hands its key to the lost device (failed under load otherwise).
		for _, cl := range []*client{alice1, alice3} {
			list, err := cl.c.Installations(ctx)
			if err != nil || !slices.ContainsFunc(list, func(in protocol.Installation) bool {
				return in.ID == lost.Installation && in.Status == protocol.InstallationRevoked
			}) {
				return false
			}
		}
		return true
	})
	talk("r3", rest, rest)
	time.Sleep(100 * time.Millisecond)
	_ = alice2.c.Sync(ctx)
	for _, s := range rest {
		if count(alice2, g, "r3 from "+s.name) != 0 {
			t.Fatalf("the revoked device read r3 from %s", s.name)
		}
	}
	if count(alice2, g, "r2 from bob") != 1 {
		t.Fatal("the lost device did not read before its revocation")
	}
}
