package protocol_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
	"github.com/chorus-im/chorus/x3dh"
)

// TestDeviceListConvergence: an account's device lists signed concurrently by two
// holders (equal clocks), older lists and a recovery device's low-clock list, delivered
// in any order, leave every receiver with the same device list — the union, revoked if
// revoked in any list — and the same device list kept for the account.
func TestDeviceListConvergence(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var ids []devicelist.Entry
	for range 7 {
		id, err := x3dh.GenerateIdentity(cryptorand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		p := id.Public()
		ids = append(ids, devicelist.Entry{ID: p.ID, DH: p.DH, Signing: p.Signing, Binding: protocol.BindForTest(id, &key.PublicKey)})
	}
	entry := func(i int, revoked bool) devicelist.Entry {
		e := ids[i]
		e.Revoked = revoked
		return e
	}
	lists := [][]byte{
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 1, Entries: []devicelist.Entry{entry(0, false)}}),
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 2, Entries: []devicelist.Entry{entry(0, false), entry(1, false)}}),
		// holder 0 links 2 while holder 1 revokes 1 and links 3 (both at clock 3)
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 3, Entries: []devicelist.Entry{entry(0, false), entry(1, false), entry(2, false)}}),
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 3, Entries: []devicelist.Entry{entry(0, false), entry(1, true), entry(3, false)}}),
		// a later list by holder 0 that never saw the revocation of 1, revoking 4
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 4, Entries: []devicelist.Entry{entry(0, false), entry(1, false), entry(2, false), entry(4, true)}}),
		// a recovery device's own first list (low clock), and a stale list re-listing 1
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 1, Entries: []devicelist.Entry{entry(5, false)}}),
		protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 2, Entries: []devicelist.Entry{entry(1, false), entry(6, true)}}),
	}
	want := map[protocol.InstallationID]bool{}
	for i, rev := range []bool{false, true, false, false, true, false, true} {
		want[protocol.InstallationID(ids[i].ID)] = rev
	}
	account := membership.PublicKeyString(&key.PublicKey)
	store, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	var firstList []byte
	for iter := range 25 {
		st, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		c, err := protocol.New(context.Background(), st, memory.NewNetwork(memory.Config{}).Join("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateAccount(context.Background()); err != nil {
			t.Fatal(err)
		}
		order := rng.Perm(len(lists))
		for _, i := range order {
			if err := protocol.MergeDeviceListForTest(c, lists[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, list := protocol.DeviceListOf(c, account)
		if !maps.Equal(got, want) {
			t.Fatalf("order %v: device list %v, want %v", order, got, want)
		}
		if iter == 0 {
			firstList = list
		} else if !bytes.Equal(list, firstList) {
			t.Fatalf("order %v: kept another device list", order)
		}
		c.Close()
		st.Close()
	}
	// A list with more than MaxInstallations active entries is refused.
	var many []devicelist.Entry
	for i := range protocol.MaxInstallations + 1 {
		e := ids[0]
		e.ID[15] = byte(i)
		many = append(many, e)
	}
	st, _ := persistence.Open(":memory:")
	defer st.Close()
	c, _ := protocol.New(context.Background(), st, memory.NewNetwork(memory.Config{}).Join("y"))
	if _, err := c.CreateAccount(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := protocol.MergeDeviceListForTest(c, protocol.SignDeviceListForTest(key, &devicelist.List{Clock: 9, Entries: many})); !errors.Is(err, protocol.ErrBadContactCode) {
		t.Fatalf("oversized device list: %v", err)
	}
}

// signedEvent signs ev for chat with key.
func signedEvent(t *testing.T, key *ecdsa.PrivateKey, chat string, ev membership.Event) membership.Event {
	t.Helper()
	ev.ChatID = chat
	s, err := membership.SignEvent(key, chat, ev)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPendingEventsBounded (engine follow-up 1): pending events of authors that were never
// members are dropped, and each author keeps at most MaxPendingEventsPerAuthor.
func TestPendingEventsBounded(t *testing.T) {
	admin, _ := crypto.GenerateKey()
	member, _ := crypto.GenerateKey()
	chat, err := membership.NewChatID(cryptorand.Reader, &admin.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	memberID := membership.PublicKeyString(&member.PublicKey)
	evs := []membership.Event{
		signedEvent(t, admin, chat, membership.Event{Type: membership.ChatCreated, Name: "g", Clock: 1}),
		signedEvent(t, admin, chat, membership.Event{Type: membership.MembersAdded, Members: membership.MembersOf([]string{memberID}...), Clock: 2}),
	}
	for i := range 40 { // a non-admin renaming: never applies
		evs = append(evs, signedEvent(t, member, chat, membership.Event{Type: membership.NameChanged, Name: fmt.Sprint(i), Clock: uint64(10 + i)}))
	}
	for i := range 30 { // strangers' events
		k, _ := crypto.GenerateKey()
		evs = append(evs, signedEvent(t, k, chat, membership.Event{Type: membership.NameChanged, Name: "x", Clock: uint64(100 + i)}))
	}
	st, err := membership.Derive(chat, evs, membership.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Pending) != 70 {
		t.Fatalf("%d pending before the bound", len(st.Pending))
	}
	protocol.BoundPendingForTest(&st)
	if len(st.Pending) != protocol.MaxPendingEventsPerAuthor {
		t.Fatalf("%d pending after the bound", len(st.Pending))
	}
	for i, ev := range st.Pending {
		if ev.From != memberID || ev.Clock != uint64(10+40-protocol.MaxPendingEventsPerAuthor+i) {
			t.Fatalf("kept pending event %d: clock %d from %s", i, ev.Clock, ev.From[:10])
		}
	}
}

var secp256k1N, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

// TestAppliedComparesContent (engine follow-up 3): an event the group already holds with
// another signature encoding (a malleated duplicate, which de-duplication may keep instead
// of ours) counts as applied.
func TestAppliedComparesContent(t *testing.T) {
	key, _ := crypto.GenerateKey()
	chat, _ := membership.NewChatID(cryptorand.Reader, &key.PublicKey)
	gen := signedEvent(t, key, chat, membership.Event{Type: membership.ChatCreated, Name: "g", Clock: 1})
	ev := signedEvent(t, key, chat, membership.Event{Type: membership.NameChanged, Name: "h", Clock: 2})
	mal := bytes.Clone(ev.Raw())
	s := new(big.Int).SetBytes(mal[32:64])
	new(big.Int).Sub(secp256k1N, s).FillBytes(mal[32:64])
	mal[64] ^= 1
	dup := membership.EventFromEntry(mal)
	dup.Clock, dup.Type, dup.Name = ev.Clock, ev.Type, ev.Name
	st, err := membership.Derive(chat, []membership.Event{gen, dup}, membership.ChorusRules())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Events) != 2 || bytes.Equal(st.Events[1].Signature, ev.Signature) {
		t.Fatal("the malleated duplicate was not the applied event")
	}
	if !protocol.AllAppliedForTest(&st, []membership.Event{ev}) {
		t.Fatal("an applied event with another signature encoding counted as rejected")
	}
	other := signedEvent(t, key, chat, membership.Event{Type: membership.NameChanged, Name: "i", Clock: 3})
	if protocol.AllAppliedForTest(&st, []membership.Event{other}) {
		t.Fatal("an event not in the state counted as applied")
	}
}

// TestForwardedStatesOnlyOnJoin (engine follow-up 2): a member that already belongs to a
// group ignores the sender-key states forwarded in a Welcome; a lying forwarder cannot
// poison an epoch it has not received yet.
func TestForwardedStatesOnlyOnJoin(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 75}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	// b misses c's first message (its key distribution) while a gets it.
	b.pause()
	if _, err := c.c.Send(ctx, g, protocol.Text("first from c")); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("a reads c", func() bool { return a.texts(g)["first from c"] == 1 })
	// a (an admin) sends b a Welcome forwarding c's state with a wrong chain key.
	before := protocol.StateDigest(b.c)
	if err := protocol.HandleWelcomeForTest(b.c, a.id, protocol.WelcomeForTest(a.c, g, true)); err != nil {
		t.Fatal(err)
	}
	if after := protocol.StateDigest(b.c); after != before {
		t.Fatal("a Welcome to an existing member changed its receivers")
	}
	// b catches up from history: it reads c's message with c's own distribution.
	if err := b.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b.texts(g)["first from c"] != 1 {
		t.Fatal("b cannot read c after a forwarded state was offered")
	}
}

// TestConcurrentHolders: two installations holding the account key (the second imported
// it) change the device list at the same time; every installation of the account and its
// contacts converge on the same list, and both holders end with the same signed list.
func TestConcurrentHolders(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 76}, 0)
	key, _ := crypto.GenerateKey()
	h0 := tn.newClient("holder0", "", func(c *protocol.Client) error { _, err := c.ImportAccount(context.Background(), key); return err })
	bob := tn.add("bob")
	tn.connect(h0, bob)
	ctx := context.Background()
	g, err := h0.c.CreateGroup(ctx, "g", "", bob.id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h0.c.Announce(ctx); err != nil { // Run announces on a schedule: one is due now
		t.Fatal(err)
	}
	tn.settle()
	// A second holder: it learns h0 from h0's announcements and is relayed into the group.
	h1 := tn.newClient("holder1", "", func(c *protocol.Client) error { _, err := c.ImportAccount(context.Background(), key); return err })
	tn.waitFor("holder1 joined", func() bool { _, err := h1.c.Group(ctx, g); return err == nil })
	d0, code0 := tn.newDevice("dev0")
	d1, code1 := tn.newDevice("dev1")
	if _, err := h0.c.LinkDevice(ctx, code0, "dev0"); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.c.LinkDevice(ctx, code1, "dev1"); err != nil {
		t.Fatal(err)
	}
	alice := []*peer{h0, h1, d0, d1}
	converged := func(alice []*peer, want map[protocol.InstallationID]protocol.InstallationStatus) func() bool {
		return func() bool {
			for _, p := range alice {
				list, err := p.c.Installations(ctx)
				if err != nil {
					return false
				}
				got := map[protocol.InstallationID]protocol.InstallationStatus{}
				for _, in := range list {
					got[in.ID] = in.Status
				}
				if !maps.Equal(got, want) {
					if debugConv {
						t.Logf("%s: got %v want %v", p.name, got, want)
					}
					return false
				}
			}
			ct, err := bob.c.Contact(ctx, h0.id)
			if err != nil {
				return false
			}
			var active []protocol.InstallationID
			for id, st := range want {
				if st == protocol.InstallationActive {
					active = append(active, id)
				}
			}
			slices.SortFunc(active, func(a, b protocol.InstallationID) int { return bytes.Compare(a[:], b[:]) })
			if debugConv {
				t.Logf("bob: %v want %v", ct.Installations, active)
			}
			return slices.Equal(ct.Installations, active)
		}
	}
	ids := map[string]protocol.InstallationID{}
	tn.waitFor("devices linked", func() bool {
		for _, p := range []*peer{d0, d1} {
			info, err := p.c.Account()
			if err != nil {
				return false
			}
			p.id, ids[p.name] = info.ID, info.Installation
		}
		return true
	})
	ids["holder0"], ids["holder1"] = installationOf(t, h0), installationOf(t, h1)
	act, rev := protocol.InstallationActive, protocol.InstallationRevoked
	tn.waitFor("concurrent links converge", converged(alice, map[protocol.InstallationID]protocol.InstallationStatus{
		ids["holder0"]: act, ids["holder1"]: act, ids["dev0"]: act, ids["dev1"]: act}))
	// Each holder revokes the device the other linked, at the same time.
	if err := h0.c.RevokeInstallation(ctx, ids["dev1"]); err != nil {
		t.Fatal(err)
	}
	if err := h1.c.RevokeInstallation(ctx, ids["dev0"]); err != nil {
		t.Fatal(err)
	}
	// The revoked devices are not told (lost devices): the others converge.
	tn.waitFor("concurrent revocations converge", converged([]*peer{h0, h1}, map[protocol.InstallationID]protocol.InstallationStatus{
		ids["holder0"]: act, ids["holder1"]: act, ids["dev0"]: rev, ids["dev1"]: rev}))
	tn.waitFor("holders sign the same list", func() bool {
		c0, _ := h0.c.ContactCode(ctx)
		c1, _ := h1.c.ContactCode(ctx)
		return signedPartOf(t, c0) == signedPartOf(t, c1)
	})
	// The group still works for the holders and bob.
	for _, p := range []*peer{h0, h1, bob} {
		if _, err := p.c.Send(ctx, g, protocol.Text("after from "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.waitFor("messages", func() bool {
		for _, r := range []*peer{h0, h1, bob} {
			for _, s := range []*peer{h0, h1, bob} {
				if r.texts(g)["after from "+s.name] != 1 {
					return false
				}
			}
		}
		return true
	})
}

func signedPartOf(t *testing.T, code string) string {
	list := listOfCode(t, code)
	b, err := list.SignedPart()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRecoverAndRevokeLostHolder: Alice loses her only key-holding device; she imports
// the account key on a fresh device, which learns her installations, is brought into her
// groups by her linked device, and revokes the lost one. The lost device keeps running
// and reads nothing sent after that.
func TestRecoverAndRevokeLostHolder(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 77}, 0)
	key, _ := crypto.GenerateKey()
	lost := tn.newClient("alice-phone", "", func(c *protocol.Client) error { _, err := c.ImportAccount(context.Background(), key); return err })
	bob := tn.add("bob")
	tn.connect(lost, bob)
	ctx := context.Background()
	g, err := lost.c.CreateGroup(ctx, "g", "", bob.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	laptop := tn.link(lost, "alice-laptop")
	rec := tn.newClient("alice-new-phone", "", func(c *protocol.Client) error { _, err := c.ImportAccount(context.Background(), key); return err })
	tn.waitFor("recovered device in the group", func() bool { _, err := rec.c.Group(ctx, g); return err == nil })
	list, err := rec.c.Installations(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("recovered device sees %d installations (%v)", len(list), err)
	}
	if err := rec.c.RevokeInstallation(ctx, installationOf(t, lost)); err != nil {
		t.Fatal(err)
	}
	lostID := installationOf(t, lost)
	tn.waitFor("revocation processed", func() bool {
		ct, err := bob.c.Contact(ctx, rec.id)
		if err != nil || slices.Contains(ct.Installations, lostID) {
			return false
		}
		l, _ := laptop.c.Installations(ctx)
		for _, in := range l {
			if in.ID == lostID {
				return in.Status == protocol.InstallationRevoked
			}
		}
		return false
	})
	readers := []*peer{rec, laptop, bob}
	for _, p := range readers {
		if _, err := p.c.Send(ctx, g, protocol.Text("after from "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.waitFor("messages", func() bool {
		for _, r := range readers {
			for _, s := range readers {
				if r.texts(g)["after from "+s.name] != 1 {
					return false
				}
			}
		}
		return true
	}, func() string {
		var out []string
		for _, r := range append(readers, lost) {
			_, f, cur := protocol.EpochInfo(r.c, g)
			out = append(out, fmt.Sprintf("%s: epoch %x frontier %d texts %v", r.name, cur[:4], len(f), r.texts(g)))
		}
		return strings.Join(out, "; ")
	})
	tn.settle()
	for text := range lost.texts(g) {
		if len(text) > 6 && text[:6] == "after " {
			t.Errorf("the lost device read %q", text)
		}
	}
}

// TestInstallationLimits: MaxInstallations active installations per account; a revoked
// installation can never be linked again; linked installations cannot sign; a tampered
// pairing secret links nothing.
func TestInstallationLimits(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 78}, 0)
	a0 := tn.add("alice0")
	ctx := context.Background()
	codeOf := func() string {
		st, err := persistence.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c, err := protocol.New(ctx, st, tn.net.Join("idle"), protocol.WithBurstSpread(0))
		if err != nil {
			t.Fatal(err)
		}
		code, err := c.LinkCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := c.LinkCode(ctx); again != code {
			t.Fatal("LinkCode changed while pending")
		}
		return code
	}
	var first protocol.InstallationID
	for i := 1; i < protocol.MaxInstallations; i++ {
		id, err := a0.c.LinkDevice(ctx, codeOf(), fmt.Sprint("device ", i))
		if err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
		if i == 1 {
			first = id
		}
	}
	if _, err := a0.c.LinkDevice(ctx, codeOf(), "one too many"); !errors.Is(err, protocol.ErrTooManyInstallations) {
		t.Fatalf("link beyond the limit: %v", err)
	}
	if err := a0.c.RevokeInstallation(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := a0.c.LinkDevice(ctx, codeOf(), "replacement"); err != nil {
		t.Fatalf("link after a revocation: %v", err)
	}
	// The revoked installation's code: refused for ever.
	d, code := tn.newDevice("revoked-one")
	if _, err := a0.c.LinkDevice(ctx, code, "x"); !errors.Is(err, protocol.ErrTooManyInstallations) {
		t.Fatalf("17th: %v", err)
	}
	list, _ := a0.c.Installations(ctx)
	if len(list) != protocol.MaxInstallations+1 {
		t.Fatalf("%d installations listed", len(list))
	}
	if err := a0.c.RevokeInstallation(ctx, list[len(list)-1].ID); err != nil {
		t.Fatal(err)
	}
	id, err := a0.c.LinkDevice(ctx, code, "x")
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor("linked", func() bool { _, err := d.c.Account(); return err == nil })
	if err := a0.c.RevokeInstallation(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a0.c.LinkDevice(ctx, code, "again"); !errors.Is(err, protocol.ErrInstallationRevoked) {
		t.Fatalf("re-link of a revoked installation: %v", err)
	}
	revokeOne := func() {
		t.Helper()
		list, err := a0.c.Installations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range list {
			if !in.Current && in.Status == protocol.InstallationActive {
				if err := a0.c.RevokeInstallation(ctx, in.ID); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatal("nothing to revoke")
	}
	// A linked installation signs nothing.
	bob := tn.add("bob")
	tn.connect(a0, bob)
	l, lcode := tn.newDevice("linked")
	if _, err := a0.c.LinkDevice(ctx, lcode, "linked"); err != nil {
		t.Fatal(err)
	}
	tn.waitFor("linked", func() bool { _, err := l.c.Account(); return err == nil })
	if _, err := l.c.CreateGroup(ctx, "g", "", bob.id); !errors.Is(err, protocol.ErrNotAccountHolder) {
		t.Fatalf("linked device created a group: %v", err)
	}
	if _, err := l.c.LinkDevice(ctx, codeOf(), "x"); !errors.Is(err, protocol.ErrNotAccountHolder) {
		t.Fatalf("linked device linked: %v", err)
	}
	// A code whose pairing secret was changed: the holder signs it in, but the device
	// never accepts the link.
	tampered, tcode := tn.newDevice("tampered")
	revokeOne()
	if _, err := a0.c.LinkDevice(ctx, tamperSecret(t, tcode), "tampered"); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if _, err := tampered.c.Account(); !errors.Is(err, protocol.ErrNoAccount) {
		t.Fatalf("a device accepted a link with another pairing secret: %v", err)
	}
}

// tamperSecret changes the pairing secret of a link code.
func tamperSecret(t *testing.T, code string) string {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(code, "chorus-link1:"))
	if err != nil {
		t.Fatal(err)
	}
	raw[1] ^= 0xff // the first byte of the secret, after the version
	return "chorus-link1:" + base64.RawURLEncoding.EncodeToString(raw)
}

func listOfCode(t *testing.T, code string) *devicelist.List {
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

var debugConv = false
