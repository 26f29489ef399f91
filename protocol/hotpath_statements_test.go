package protocol_test

import (
	"context"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// TestMessagePathStatements: the store statements of an ordinary v2 group message on a
// warm client (issue 16; BEGIN and COMMIT not counted). A send: our chain, the message,
// the group state, the outbox record and the replay marker of our own envelope, then the
// mark step (the record deleted, the message published). A receive: the replay marker
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
	if n := a.store.Statements() - before; n > 7 {
		t.Errorf("a send ran %d statements, want ≤ 7", n)
	}
	tn.settle(a)
	envs := tp.all()
	if len(envs) < 2 {
		t.Fatalf("%d envelopes tapped", len(envs))
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
