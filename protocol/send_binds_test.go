package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/protocol"
)

// TestSendBinds: the arguments an ordinary v2 group message's writes bind on a warm
// client (issue 16: go-sqlite3 binds each with its own call into sqlite, about as
// costly as a short statement's step for a handful of them). A send: our chain (group,
// epoch, state, lease), the message (id, group, sender account and installation, clock,
// times, direction, status, type, body), the group's per-message columns (clock,
// history, update time and the id: nothing else changed), the outbox record (message,
// topic, payload, due and creation times: a new record is unpublished, not attempted;
// and the store's id floor, persistence.outboxNewID: one bind instead of the
// sqlite_sequence page AUTOINCREMENT wrote per send before schema 15),
// then the mark step (the record's id, the message's id). A receive: the replay marker
// (hash, time), the sender's chain (group, epoch, installation, state, skipped count),
// and the same message and group columns.
func TestSendBinds(t *testing.T) {
	tn, a, b, g, tp := benchGroup(t)
	ctx := context.Background()
	a.pause()
	b.pause()
	send := func() {
		t.Helper()
		if _, err := a.c.Send(ctx, g, protocol.Text("hello")); err != nil {
			t.Fatal(err)
		}
	}
	send() // warm
	before := a.store.WriteArgs()
	send()
	if n := a.store.WriteArgs() - before; n > 27 {
		t.Errorf("a send bound %d arguments, want ≤ 27", n)
	}
	tn.settle(a)
	envs := tp.all()
	if len(envs) < 2 {
		t.Fatalf("%d envelopes tapped", len(envs))
	}
	protocol.Inject(b.c, envs[len(envs)-2].Topic, envs[len(envs)-2].Payload)
	before = b.store.WriteArgs()
	protocol.Inject(b.c, envs[len(envs)-1].Topic, envs[len(envs)-1].Payload)
	if n := b.store.WriteArgs() - before; n > 22 {
		t.Errorf("a receive bound %d arguments, want ≤ 22", n)
	}
}
