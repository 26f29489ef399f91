package protocol_test

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
	"github.com/chorus-im/chorus/x3dh"
)

// tap records every envelope published on its topics, from a node of its own
// (chorustest.Tap).
type tap struct {
	*chorustest.Tap
	topic string // the topic tapped (the node's name for several)
}

func (tp *tap) all() []transport.Envelope { return tp.Envelopes() }

func newTap(t *testing.T, net *memory.Network, topic string) *tap { return newTapTB(t, net, topic) }

// tapInbox taps p's inbox topic.
func tapInbox(t testing.TB, tn *testNet, p *peer) *tap {
	return newTapTB(t, tn.net, topics.InboxTopic(accountPubOf(t, p.id)))
}

func accountPubOf(t testing.TB, id string) []byte {
	pub, err := membership.ParsePublicKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.FromECDSAPub(pub)
}

func newTapTB(t testing.TB, net *memory.Network, topic string) *tap {
	return tapTopics(t, net, "tap-"+topic, topic)
}

// tapTopics taps topics from a node named name.
func tapTopics(t testing.TB, net *memory.Network, name string, topics ...string) *tap {
	nd := net.Join(name)
	tp, err := chorustest.NewTap(context.Background(), nd, topics...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Stop(); nd.Close() })
	out := &tap{Tap: tp, topic: name}
	if len(topics) == 1 {
		out.topic = topics[0]
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// TestRemovedMemberCannotRead keeps the removed member's client running and, worse, runs
// a clone of its pre-removal state that never learns of the removal and is fed every
// post-removal publish: neither reads anything sent after the removal, an outsider sees
// no plaintext, and the clone's own messages are rejected by the remaining members.
func TestRemovedMemberCannotRead(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 3}, 0)
	a, b := tn.add("a"), tn.add("b")
	victim := tn.addPersistent("victim")
	outsider := tn.add("outsider")
	tn.connect(a, b, victim, outsider)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, victim.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for _, p := range []*peer{a, b, victim} {
		if _, err := p.c.Send(ctx, g, protocol.Text("before/"+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	info, _ := a.c.Group(ctx, g)
	tp := newTap(t, tn.net, info.Topic)

	// Snapshot the victim's state before it learns of its removal.
	victim.stop()
	clonePath := victim.path + ".clone"
	copyFile(t, victim.path, clonePath)
	for _, ext := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(victim.path + ext); err == nil {
			copyFile(t, victim.path+ext, clonePath+ext)
		}
	}
	victim.start(false)

	if err := a.c.RemoveMembers(ctx, g, victim.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	secret := "after-removal-secret-text"
	for _, p := range []*peer{a, b} {
		if _, err := p.c.Send(ctx, g, protocol.Text(secret+"/"+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	for _, p := range []*peer{a, b} {
		if n := p.texts(g)[secret+"/a"] + p.texts(g)[secret+"/b"]; n != 2 {
			t.Fatalf("%s: members did not get the post-removal messages (%d)", p.name, n)
		}
	}
	if info, _ := victim.c.Group(ctx, g); info.Status != protocol.GroupRemoved {
		t.Fatalf("victim status %v", info.Status)
	}

	// The clone: the victim's keys from before the removal, fed every publish after it
	// except the removal itself.
	// It does not Run (which would fetch the removal from history): it only gets what
	// we inject.
	cloneStore, err := persistence.Open(clonePath)
	if err != nil {
		t.Fatal(err)
	}
	defer cloneStore.Close()
	cloneNode := tn.net.Join("clone")
	defer cloneNode.Close()
	cloneClient, err := protocol.New(ctx, cloneStore, cloneNode, protocol.WithBurstSpread(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cloneClient.Close()
	clone := &peer{t: t, name: "clone", c: cloneClient}
	envs := tp.all()
	if len(envs) < 3 {
		t.Fatalf("tap saw %d publishes", len(envs))
	}
	for _, e := range envs[1:] {
		protocol.Inject(clone.c, e.Topic, e.Payload)
	}
	for _, p := range []*peer{victim, clone} {
		for text := range p.texts(g) {
			if bytes.Contains([]byte(text), []byte(secret)) {
				t.Errorf("%s read %q", p.name, text)
			}
		}
	}
	// Nobody outside sees plaintext on the wire.
	for _, e := range envs {
		if bytes.Contains(e.Payload, []byte(secret)) || bytes.Contains(e.Payload, []byte(a.id[2:20])) {
			t.Fatal("plaintext or an account key on the wire")
		}
	}
	if _, err := outsider.c.Group(ctx, g); err == nil {
		t.Fatal("outsider knows the group")
	}
	// The clone still believes it is a member; what it sends is rejected.
	if _, err := clone.c.Send(ctx, g, protocol.Text("from the removed clone")); err != nil {
		t.Fatal(err)
	}
	tn.settle(a, b)
	for _, p := range []*peer{a, b} {
		if p.texts(g)["from the removed clone"] != 0 {
			t.Fatalf("%s accepted a message from a removed member", p.name)
		}
	}
}

// TestTamperedAndReplayedRejected replays, re-frames and flips every byte of the inner
// frame of group publishes (as an insider holding the epoch's outer key could) and feeds
// them to a member. Nothing is accepted, and the one effect allowed is precise: a flip
// inside the sender installation id of a message that travels without a key block names
// an installation nobody knows, so that envelope is kept as pending (and nothing else
// changes); every other flip leaves the state byte-identical.
func TestTamperedAndReplayedRejected(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 5}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, d)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	info, _ := a.c.Group(ctx, g)
	tp := newTap(t, tn.net, info.Topic)
	// Messages without a key block, and a membership key event (block and message).
	for i := range 4 {
		if _, err := a.c.Send(ctx, g, protocol.Text("one "+string(rune('0'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.c.AddMembers(ctx, g, d.id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.Send(ctx, g, protocol.Text("from c")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	envs := tp.all()
	if len(envs) != 6 {
		t.Fatalf("tap saw %d", len(envs))
	}
	before := protocol.StateDigest(b.c)
	check := func(what string) {
		t.Helper()
		if after := protocol.StateDigest(b.c); after != before {
			t.Fatalf("%s changed the state", what)
		}
	}
	flips, pendings, bare := 0, 0, 0
	for _, e := range envs {
		protocol.Inject(b.c, e.Topic, e.Payload) // exact replay
		check("exact replay")
		protocol.Inject(b.c, e.Topic, protocol.Reframe(b.c, g, e.Payload, nil)) // replay with a fresh outer nonce
		check("re-framed replay")
		inner := protocol.InnerFrame(b.c, g, e.Payload)
		f, err := wire.ParseFrameV2(inner)
		if err != nil || f.Message == nil {
			t.Fatalf("inner frame: %v", err)
		}
		msgAt := 2 + 4 // the message follows the flags and the block; zero padding ends the frame
		if f.Block != nil {
			msgAt += 4 + len(f.Block)
		}
		if f.Block == nil {
			bare++
		}
		installation := func(pos int) bool { return pos > msgAt && pos <= msgAt+16 }
		for pos := range inner {
			for _, bit := range []byte{0x01, 0x80} {
				forged := protocol.Reframe(b.c, g, e.Payload, func(in []byte) { in[pos] ^= bit })
				protocol.Inject(b.c, e.Topic, forged)
				flips++
				if n, _ := protocol.PendingStats(b.c); n > 0 {
					if f.Block != nil || !installation(pos) || n != 1 {
						t.Fatalf("flip of bit %#x at offset %d of %d (message at %d, key block %v) left %d pending",
							bit, pos, len(inner), msgAt, f.Block != nil, n)
					}
					pendings++
					protocol.ClearPending(b.c)
				}
				check(fmt.Sprintf("flip of bit %#x at offset %d", bit, pos))
			}
		}
		// Garbage and truncations never panic and change nothing.
		for _, n := range []int{0, 1, 10, 41, len(e.Payload) - 1} {
			protocol.Inject(b.c, e.Topic, e.Payload[:n])
		}
		check("truncation")
	}
	if bare == len(envs) {
		t.Error("no publish with a key block")
	}
	if bare == 0 || pendings != 32*bare { // 16 installation-id bytes x 2 bits of each message without a block
		t.Errorf("%d of %d flips kept as pending, want %d", pendings, flips, 32*bare)
	}
	if got := b.texts(g); got["one 0"] != 1 || got["one 3"] != 1 || got["from c"] != 1 {
		t.Fatalf("original messages lost: %v", got)
	}
}

// TestImpersonatedInstallationRefused: a group member runs X3DH under another member's
// installation id with its own keys; the responder refuses the header before any state
// exists (X3DH authenticates keys, not ids).
func TestImpersonatedInstallationRefused(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 53}, 3)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(tn.peers...)
	ctx := context.Background()
	binfo, _ := b.c.Account()
	code, _ := a.c.ContactCode(ctx)
	cc, err := protocol.ParseContactCode(code)
	if err != nil {
		t.Fatal(err)
	}
	list, err := devicelist.Parse(cc.DeviceList)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := x3dh.ParseBundle(list.Bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	attacker, _ := x3dh.GenerateIdentity(cryptorand.Reader)
	enc, _ := attacker.MarshalBinary()
	copy(enc[2:18], binfo.Installation[:]) // b's installation id, the attacker's keys
	var fake x3dh.Identity
	if err := fake.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	_, _, hdr, err := x3dh.Initiate(cryptorand.Reader, &fake, bundle, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := hdr.MarshalBinary()
	before := protocol.StateDigest(a.c)
	if err := protocol.RespondForTest(a.c, hb); err == nil {
		t.Fatal("X3DH header impersonating a known installation accepted")
	}
	// A genuine header from an installation nobody introduced is refused in a slot too.
	_, _, hdr2, _ := x3dh.Initiate(cryptorand.Reader, attacker, bundle, time.Now())
	hb2, _ := hdr2.MarshalBinary()
	if err := protocol.RespondForTest(a.c, hb2); err == nil {
		t.Fatal("unknown installation accepted in a rotation slot")
	}
	if protocol.StateDigest(a.c) != before {
		t.Fatal("state changed")
	}
}
