package protocol_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestMessagePathStatements: the store statements of an ordinary v2 group message on a
// warm client (issue 16; BEGIN and COMMIT not counted). A send: our chain, the message,
// the group state and the outbox record (no replay marker: our envelope's copy coming
// back is dropped in memory, or after a restart as ours), then the mark step (the record
// deleted, the message published). A receive: the replay marker
// (checked and set in one statement), the sender's chain, the message and the group
// state — no installation read, no expected entry or pending envelope to clear while
// the client knows there is none.
func TestMessagePathStatements(t *testing.T) {
	tn, a, b, g, tp := benchGroup(t)
	ctx := context.Background()
	a.pause() // no echo of a's own publishes counted with its send
	b.pause()
	send := func() {
		t.Helper()
		if _, err := a.c.Send(ctx, g, protocol.Text("hello")); err != nil {
			t.Fatal(err)
		}
	}
	send() // warm: the sender's chain and group state in view
	before := a.store.Statements()
	send()
	if n := a.store.Statements() - before; n > 6 {
		t.Errorf("a send ran %d statements, want ≤ 6", n)
	}
	tn.settle(a)
	envs := tp.all()
	if len(envs) < 2 {
		t.Fatalf("%d envelopes tapped", len(envs))
	}
	// The copy of a's own envelope coming back costs no statement.
	before = a.store.Statements()
	protocol.Inject(a.c, envs[len(envs)-1].Topic, envs[len(envs)-1].Payload)
	if n := a.store.Statements() - before; n != 0 {
		t.Errorf("the copy of a's own envelope ran %d statements, want 0", n)
	}
	protocol.Inject(b.c, envs[len(envs)-2].Topic, envs[len(envs)-2].Payload)
	before = b.store.Statements()
	protocol.Inject(b.c, envs[len(envs)-1].Topic, envs[len(envs)-1].Payload)
	if n := b.store.Statements() - before; n > 4 {
		t.Errorf("a receive ran %d statements, want ≤ 4", n)
	}
	// The replay marker still holds: the same envelope again stores nothing more.
	before = b.store.Statements()
	protocol.Inject(b.c, envs[len(envs)-1].Topic, envs[len(envs)-1].Payload)
	if n := b.store.Statements() - before; n != 1 {
		t.Errorf("a replayed envelope ran %d statements, want 1", n)
	}
	msgs, err := b.c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	hello := 0
	for _, m := range msgs {
		if m.Content.Type == protocol.ContentText && m.Content.Text == "hello" {
			hello++
		}
	}
	if hello != 2 {
		t.Errorf("receiver holds %d of the 2 messages sent", hello)
	}
}

// TestExpectedClearedAfterNone: a receiver that read its group's expected entries (none)
// skips clearing an entry per message only until one is put: a message named by the
// history of one received before it is expected, then cleared when it arrives, and the
// hot views agree with the store throughout.
func TestExpectedClearedAfterNone(t *testing.T) {
	_, a, b, g, tp := benchGroup(t)
	ctx := context.Background()
	b.pause()
	if n := protocol.ExpectedCount(b.c, g); n != 0 {
		t.Fatalf("%d entries expected before the test", n)
	}
	for _, text := range []string{"first", "second"} {
		if _, err := a.c.Send(ctx, g, protocol.Text(text)); err != nil {
			t.Fatal(err)
		}
	}
	var envs []transport.Envelope
	deadline := time.Now().Add(10 * time.Second)
	for len(envs) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		envs = tp.all()
	}
	if len(envs) < 2 {
		t.Fatalf("%d envelopes tapped", len(envs))
	}
	first, second := envs[len(envs)-2], envs[len(envs)-1]
	protocol.Inject(b.c, second.Topic, second.Payload)
	if n := protocol.ExpectedCount(b.c, g); n != 1 {
		t.Fatalf("%d entries expected after the second message alone, want 1 (the first)", n)
	}
	if err := protocol.CheckHotViews(b.c); err != nil {
		t.Fatal(err)
	}
	protocol.Inject(b.c, first.Topic, first.Payload)
	if n := protocol.ExpectedCount(b.c, g); n != 0 {
		t.Errorf("%d entries still expected after the first message arrived", n)
	}
	if err := protocol.CheckHotViews(b.c); err != nil {
		t.Error(err)
	}
}

// TestInstallationViewFollowsWrites: the message path reads a sender's installation
// through a view; a write of the record (here: revoked) is seen by the next message, and
// a write its transaction rolled back is not.
func TestInstallationViewFollowsWrites(t *testing.T) {
	_, a, b, g, tp := benchGroup(t)
	ctx := context.Background()
	b.pause()
	texts := []string{"in view", "after a failed revocation", "after the revocation"}
	for _, text := range texts {
		if _, err := a.c.Send(ctx, g, protocol.Text(text)); err != nil {
			t.Fatal(err)
		}
	}
	var envs []transport.Envelope
	deadline := time.Now().Add(10 * time.Second)
	for len(envs) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		envs = tp.all()
	}
	if len(envs) < 3 {
		t.Fatalf("%d envelopes tapped", len(envs))
	}
	envs = envs[len(envs)-3:]
	stored := func(text string) bool {
		msgs, err := b.c.Messages(ctx, g, protocol.MessageFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Content.Text == text {
				return true
			}
		}
		return false
	}
	protocol.Inject(b.c, envs[0].Topic, envs[0].Payload)
	if err := protocol.SetRevokedForTest(b.c, a.c, true, true); err != nil {
		t.Fatal(err)
	}
	protocol.Inject(b.c, envs[1].Topic, envs[1].Payload)
	if err := protocol.SetRevokedForTest(b.c, a.c, true, false); err != nil {
		t.Fatal(err)
	}
	protocol.Inject(b.c, envs[2].Topic, envs[2].Payload)
	for i, want := range []bool{true, true, false} {
		if got := stored(texts[i]); got != want {
			t.Errorf("%q stored: %v, want %v", texts[i], got, want)
		}
	}
	if err := protocol.CheckHotViews(b.c); err != nil {
		t.Error(err)
	}
}

// TestOwnEchoAfterRestart: our group message's envelope coming back after a restart (no
// replay marker, no memory of it) is recognised as ours: nothing stored but its marker,
// and the message stays once, published.
func TestOwnEchoAfterRestart(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 31}, 1)
	a := tn.addAt("a", filepath.Join(t.TempDir(), "a.db"))
	b := tn.peers[0]
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "echo", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	info, err := a.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	tp := newTapTB(t, tn.net, info.Topic)
	id, err := a.c.Send(ctx, g, protocol.Text("mine"))
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	var env transport.Envelope
	for _, e := range tp.all() {
		env = e
	}
	if env.Payload == nil {
		t.Fatal("no envelope tapped")
	}
	a.restart()
	a.pause()
	count := func() (n int) {
		msgs, err := a.c.Messages(ctx, g, protocol.MessageFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.ID == id {
				n++
				if m.Status != protocol.StatusPublished {
					t.Errorf("own message status %v after its echo, want published", m.Status)
				}
			}
		}
		return n
	}
	for i := 0; i < 2; i++ {
		before := a.store.Statements()
		protocol.Inject(a.c, env.Topic, env.Payload)
		if n := count(); n != 1 {
			t.Fatalf("own message stored %d times after its echo", n)
		}
		if i == 1 {
			if n := a.store.Statements() - before; n > 2 { // the marker found, the read above
				t.Errorf("the second echo after the restart ran %d statements (no replay marker?)", n)
			}
		}
	}
}
