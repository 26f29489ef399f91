package protocol_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestLinkCost links a device to an account that is in 20 groups (each with three other
// members who have all spoken) and reports what the link costs: publishes, bytes and the
// time until the new device is in every group. It checks the structure: one Link, one
// Welcome per group, one devices message per group, the own-installation and contact
// notices and one announcement.
func TestLinkCost(t *testing.T) {
	const groups = 20
	tn := newEpochNet(t, memory.Config{Seed: 81}, 0)
	a0, bob, carol, dave := tn.add("alice0"), tn.add("bob"), tn.add("carol"), tn.add("dave")
	tn.connect(a0, bob, carol, dave)
	ctx := context.Background()
	var gids []protocol.GroupID
	for i := range groups {
		g, err := a0.c.CreateGroup(ctx, fmt.Sprint("group ", i), "", bob.id, carol.id, dave.id)
		if err != nil {
			t.Fatal(err)
		}
		gids = append(gids, g)
	}
	tn.settle()
	for _, g := range gids {
		for _, p := range []*peer{a0, bob, carol, dave} {
			if _, err := p.c.Send(ctx, g, protocol.Text("hi from "+p.name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tn.settle()
	d, code := tn.newDevice("alice1")
	before := tn.net.Stats()
	start := time.Now()
	if _, err := a0.c.LinkDevice(ctx, code, "alice1"); err != nil {
		t.Fatal(err)
	}
	queued := time.Since(start)
	tn.waitFor("linked into every group", func() bool {
		gs, err := d.c.Groups(ctx)
		return err == nil && len(gs) == groups
	})
	elapsed := time.Since(start)
	dinfo, err := d.c.Account()
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor("the others know the new device", func() bool {
		for _, p := range []*peer{bob, carol, dave} {
			ct, err := p.c.Contact(ctx, a0.id)
			if err != nil || !slices.Contains(ct.Installations, dinfo.Installation) {
				return false
			}
		}
		return true
	})
	tn.settle()
	after := tn.net.Stats()
	pubs, bytes := after.Publishes-before.Publishes, after.Bytes-before.Bytes
	// 1 Link + 1 contact sync + 20 Welcomes and 20 key blocks (the link is a key event in
	// each group: a rekey whose join the new device gets in its Welcome), then the new
	// device's binding back to alice0 (1 Devices) and 20 devices messages + 1 announcement
	// (no other installation, every contact shares a group).
	if want := int64(1 + 1 + groups + groups + 1 + groups + 1); pubs != want {
		t.Fatalf("link: %d publishes, want %d", pubs, want)
	}
	if _, err := bob.c.Send(ctx, gids[0], protocol.Text("first after the link")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("new device reads", func() bool { return d.texts(gids[0])["first after the link"] == 1 })
	t.Logf("link into %d groups: %d publishes, %d bytes (%.1f KiB), stored and queued in %v, new device in every group after %v",
		groups, pubs, bytes, float64(bytes)/1024, queued.Round(time.Millisecond), elapsed.Round(time.Millisecond))
}

// TestRevocationCost revokes one installation of an account in a group of n members with
// three installations each (n = 50 with CHORUS_COST_MEMBERS=50; 8 by default to keep the
// suite fast) and reports the immediate cost (publishes, bytes) and the rekey bytes each
// remaining sender adds to its next message. The revocation itself is one group publish.
func TestRevocationCost(t *testing.T) {
	n := 8
	if v, err := strconv.Atoi(os.Getenv("CHORUS_COST_MEMBERS")); err == nil && v >= 2 {
		n = v
	}
	if testing.Short() {
		n = 4
	}
	tn := newEpochNet(t, memory.Config{Seed: 82}, 0)
	ctx := context.Background()
	var holders []*peer
	var all []*peer
	for i := range n {
		h := tn.add(fmt.Sprint("m", i))
		holders = append(holders, h)
		all = append(all, h)
	}
	for _, h := range holders {
		for j := 1; j <= 2; j++ {
			all = append(all, tn.link(h, fmt.Sprintf("%s.%d", h.name, j)))
		}
	}
	tn.connect(holders...)
	a0 := holders[0]
	g, err := a0.c.CreateGroup(ctx, "cost", "", ids(holders[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor("everyone joined", func() bool {
		for _, p := range all {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	// Everyone speaks once, so that sessions are established both ways (steady state).
	for _, p := range all {
		if _, err := p.c.Send(ctx, g, protocol.Text("hello from "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.waitFor("everyone read everyone", func() bool {
		for _, p := range all {
			if len(p.texts(g)) != len(all) {
				return false
			}
		}
		return true
	})
	for _, p := range all {
		if _, err := p.c.Send(ctx, g, protocol.Text("again from "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.waitFor("everyone read again", func() bool {
		for _, p := range all {
			if len(p.texts(g)) != 2*len(all) {
				return false
			}
		}
		return true
	})
	lost := all[n] // m0.1
	lostID := installationOf(t, lost)
	info, _ := a0.c.Group(ctx, g)
	tap := newTap(t, tn.net, info.Topic)
	before := tn.net.Stats()
	if err := a0.c.RevokeInstallation(ctx, lostID); err != nil {
		t.Fatal(err)
	}
	mid := tn.net.Stats()
	revPubs, revBytes := mid.Publishes-before.Publishes, mid.Bytes-before.Bytes
	// Key schedule v2: the revocation is a key event of the holder's: its devices message
	// rides with its rekey (one group publish, sealed under the previous epoch, the seed
	// in a slot for every remaining installation).
	tn.waitFor("tap", func() bool { return len(tap.all()) == 1 })
	groupBytes := len(tap.all()[0].Payload)
	// 1 group publish, 1 Devices to the other installation of the account, 1 announcement.
	if revPubs != 3 {
		t.Fatalf("revocation: %d publishes", revPubs)
	}
	tn.waitFor("revocation processed", func() bool {
		for _, p := range holders[1:] {
			ct, err := p.c.Contact(ctx, a0.id)
			if err != nil || len(ct.Installations) != 2 {
				return false
			}
		}
		return true
	})
	tn.settle()
	if n := len(tap.all()); n != 1 {
		t.Fatalf("%d group publishes for the revocation, want 1 (devices message with the rekey)", n)
	}
	_, _, want := protocol.EpochInfo(a0.c, g)
	for _, p := range all {
		if p == lost {
			continue
		}
		if _, _, got := protocol.EpochInfo(p.c, g); got != want {
			t.Fatalf("%s on epoch %x, want %x", p.name, got[:4], want[:4])
		}
	}
	sender := holders[1]
	pubs, first := sendCost(t, tn, sender, g, "after the revocation")
	if pubs != 1 {
		t.Fatalf("first message after the revocation: %d publishes", pubs)
	}
	_, ordinary := sendCost(t, tn, sender, g, "after the revocatioX") // same length: same bucket (v2 padding)
	if extra := first - ordinary; extra != 0 {
		t.Fatalf("first message after the revocation carries %d extra bytes, want 0", extra)
	}
	tn.settle()
	if got := lost.texts(g); got["after the revocation"] != 0 {
		t.Fatal("the revoked installation read a message sent after the revocation")
	}
	t.Logf("revocation in a group of %d members x 3 installations: %d publishes / %d bytes "+
		"(group devices message with the rekey, %d slots: %d bytes; Devices to the other own installation; announcement); "+
		"every later message costs what it did before (first after: %d bytes, 0 extra), nobody else rekeys",
		n, revPubs, revBytes, 3*n-2, groupBytes, first)
}
