package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
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
