package protocol_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport/memory"
)

// announceTap records every publish on any of the 64 announcement partitions.
func announceTap(t testing.TB, net *memory.Network) *tap {
	var all []string
	for i := range topics.AnnouncePartitions {
		all = append(all, topics.ContentTopic("announce-"+strconv.Itoa(int(i))))
	}
	return tapTopics(t, net, "announce-tap", all...)
}

// TestAnnouncementNeedsSecret (issue 19 item 4): a past co-member knows Bob's account
// key and card (from a Welcome) but never got his contact code: it can neither look Bob up
// nor open any of his later announcements, whatever the partition (the secret, not the
// key, chooses it: one in 64 coincides with the key's); Carol, who added Bob's
// code, can. Once Bob shares his announcements with Alice (ShareAnnouncements), she can
// too.
func TestAnnouncementNeedsSecret(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{Seed: 41}, 0)
	tp := announceTap(t, tn.net)
	a, b, c := tn.add("alice"), tn.add("bob"), tn.add("carol")
	tn.connect(c, a) // Alice and Bob only ever meet in Carol's group
	codeB, err := b.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.AddContact(ctx, codeB); err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.CreateGroup(ctx, "trip", "", a.id, b.id); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("alice has bob's card from the Welcome", func() bool {
		ct, err := a.c.Contact(ctx, b.id)
		return err == nil && len(ct.Installations) == 1 && !ct.Announcements
	})
	if err := b.c.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("bob's announcement", func() bool { return len(tp.all()) > 0 })
	// Alice, with the account key only: no lookup, and no announcement anywhere opens.
	if _, err := a.c.FetchContact(ctx, b.id); !errors.Is(err, protocol.ErrUnknownContact) {
		t.Fatalf("co-member without the secret fetched bob: %v", err)
	}
	pubB := accountPubOf(t, b.id)
	for _, e := range tp.all() {
		if _, err := protocol.OpenAnnounceForTest(pubB, nil, e.Payload); err == nil {
			t.Fatalf("an announcement on %s opens with bob's account key alone", e.Topic)
		}
	}
	// Carol holds the secret from Bob's code.
	if ct, err := c.c.FetchContact(ctx, b.id); err != nil || ct.ID != b.id || !ct.Announcements {
		t.Fatalf("contact with the secret: %+v %v", ct, err)
	}
	// Bob chooses Alice.
	if err := b.c.ShareAnnouncements(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("alice gets bob's secret", func() bool {
		ct, err := a.c.Contact(ctx, b.id)
		return err == nil && ct.Announcements
	})
	if ct, err := a.c.FetchContact(ctx, b.id); err != nil || ct.ID != b.id {
		t.Fatalf("after ShareAnnouncements: %+v %v", ct, err)
	}
}

// TestAnnouncementSizeIndependentOfDevices (issue 19 item 4): the announcements of an
// account with one, two and three installations all have the same size (one bucket).
func TestAnnouncementSizeIndependentOfDevices(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{Seed: 43}, 0)
	tp := announceTap(t, tn.net)
	a := tn.add("alice")
	sizes := map[int]bool{}
	announce := func(devices int) {
		t.Helper()
		before := len(tp.all())
		if err := a.c.Announce(ctx); err != nil {
			t.Fatal(err)
		}
		tn.waitFor("announcement", func() bool { return len(tp.all()) > before })
		envs := tp.all()
		n := len(envs[len(envs)-1].Payload)
		t.Logf("%d installation(s): announcement %d bytes", devices, n)
		sizes[n] = true
	}
	announce(1)
	tn.link(a, "laptop")
	announce(2)
	tn.link(a, "tablet")
	announce(3)
	for _, e := range tp.all() { // the links' own announcements, the linked devices' too
		sizes[len(e.Payload)] = true
	}
	if len(sizes) != 1 {
		t.Fatalf("announcement sizes depend on the device count: %v", slices.Sorted(maps.Keys(sizes)))
	}
	if want := wire.AnnounceBuckets[0] + 24 + 16; !sizes[want] { // nonce, tag
		t.Fatalf("announcement sizes %v, want %d", slices.Sorted(maps.Keys(sizes)), want)
	}
}

// TestNoAnnouncementAtStart (issue 19 item 4): an installation that starts after more
// than a day offline does not announce at start-up (that told everyone who can read its
// announcements when it came online); its overdue announcement is rescheduled within
// AnnounceInterval and published then.
func TestNoAnnouncementAtStart(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	tn := newTestNet(t, memory.Config{Seed: 47}, 0)
	tp := announceTap(t, tn.net)
	b := tn.addAt("bob", filepath.Join(t.TempDir(), "bob.db"), protocol.WithClock(now))
	if err := b.c.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("first announcement", func() bool { return len(tp.all()) == 1 })
	b.stop()
	clock.Add(int64(48 * time.Hour))
	b.start(false)
	time.Sleep(500 * time.Millisecond) // Run's start-up: subscriptions, sync, maintenance
	if envs := tp.all(); len(envs) != 1 {
		t.Fatalf("%d announcement(s) published at start-up after 48 h offline", len(envs)-1)
	}
	clock.Add(int64(protocol.AnnounceInterval + time.Minute))
	tn.waitFor("the rescheduled announcement", func() bool { return len(tp.all()) == 2 })
}

// TestAnnounceSecretMigration: an account from before announcement secrets (its store has
// none, its contacts hold none) derives its secret at the first start and sends it to the
// contacts it had added — not to a member it only met in a group.
func TestAnnounceSecretMigration(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{Seed: 61}, 0)
	a, b := tn.addPersistent("alice"), tn.addPersistent("bob")
	c := tn.add("carol")
	tn.connect(a, b)
	codeC, err := c.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.AddContact(ctx, codeC); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.CreateGroup(ctx, "g", "", a.id, c.id); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("carol has alice's card", func() bool { _, err := c.c.Contact(ctx, a.id); return err == nil })
	// Back to the state before secrets: Alice's store has none, Bob's record of her none.
	a.stop()
	st, err := persistence.Open(a.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WithTx(ctx, func(tx storage.StoreTx) error {
		rec, err := tx.Account()
		if err != nil {
			return err
		}
		rec.AnnounceSecret, rec.SecretShared = nil, false
		return tx.PutAccount(rec)
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	b.stop()
	if st, err = persistence.Open(b.path); err != nil {
		t.Fatal(err)
	}
	if err := st.WithTx(ctx, func(tx storage.StoreTx) error {
		rec, err := tx.Contact(a.id)
		if err != nil {
			return err
		}
		rec.AnnounceSecret = nil
		return tx.PutContact(rec)
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	b.start(false)
	if ct, _ := b.c.Contact(ctx, a.id); ct.Announcements {
		t.Fatal("setup: bob still holds alice's secret")
	}
	a.start(false)
	tn.waitFor("bob, an added contact, gets alice's secret", func() bool {
		ct, err := b.c.Contact(ctx, a.id)
		return err == nil && ct.Announcements
	})
	if err := a.c.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	if ct, err := b.c.FetchContact(ctx, a.id); err != nil || ct.ID != a.id {
		t.Fatalf("bob looks alice up after the migration: %+v %v", ct, err)
	}
	tn.settle()
	if ct, err := c.c.Contact(ctx, a.id); err != nil || ct.Announcements {
		t.Fatalf("carol, met only in a group, got alice's secret: %+v %v", ct, err)
	}
}
