package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// plainStore hides the batch methods: the engine then runs one transaction per envelope.
type plainStore struct{ s *persistence.Store }

func (p plainStore) WithTx(ctx context.Context, fn func(storage.StoreTx) error) error {
	return p.s.WithTx(ctx, fn)
}
func (p plainStore) Close() error { return p.s.Close() }

// failingBatches fails the commit of every batch while fail is set (rolling it back, as
// a full disk would).
type failingBatches struct {
	*persistence.Store
	fail bool
}

func (f *failingBatches) EndBatch(commit bool) error {
	if f.fail && commit {
		f.Store.EndBatch(false)
		return errors.New("test: batch commit failed")
	}
	return f.Store.EndBatch(commit)
}

// syncFixture: a receiver (file store) goes offline after the group's keys went round;
// then three senders send 3×70 messages (more than three batches), one of them for the
// first time (its key rides on its first message). It returns the network, the group,
// the receiver's offline database and the number of messages it should end with.
func syncFixture(t *testing.T) (*testNet, protocol.GroupID, string, int) {
	tn := newTestNet(t, memory.Config{Seed: 89}, 3)
	dir := t.TempDir()
	rcv := tn.addAt("r", filepath.Join(dir, "r.db"))
	tn.connect(tn.peers...)
	ctx := context.Background()
	g, err := tn.peers[0].c.CreateGroup(ctx, "g", "", ids(tn.peers[1:]...)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for _, p := range tn.peers[:2] {
		if _, err := p.c.Send(ctx, g, protocol.Text("key of "+p.name)); err != nil {
			t.Fatal(err)
		}
	}
	tn.settle()
	rcv.stop()
	for i := range 70 {
		for _, p := range tn.peers[:3] {
			if _, err := p.c.Send(ctx, g, protocol.Text(fmt.Sprintf("%s %d", p.name, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return tn, g, filepath.Join(dir, "r.db"), 2 + 3*70
}

// openCopy opens a copy of the database at path as a client on a new node.
func openCopy(t *testing.T, tn *testNet, path, name string, wrap func(*persistence.Store) storage.Store) (*protocol.Client, <-chan protocol.Event) {
	cp := filepath.Join(t.TempDir(), name+".db")
	copyFile(t, path, cp)
	s, err := persistence.Open(cp)
	if err != nil {
		t.Fatal(err)
	}
	// The same randomness for every copy (a DH ratchet step draws a key): copies that
	// process the same input end in the same state.
	c, err := protocol.New(context.Background(), wrap(s), tn.net.Join(name), protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0),
		protocol.WithRand(rand.NewChaCha8([32]byte{9})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	evs := c.Subscribe(ctx)
	t.Cleanup(func() { cancel(); c.Close(); s.Close() })
	return c, evs
}

func received(evs <-chan protocol.Event) int {
	n := 0
	for {
		select {
		case ev := <-evs:
			if _, ok := ev.(*protocol.MessageReceived); ok {
				n++
			}
		default:
			return n
		}
	}
}

// TestSyncBatchedSameState: Sync with batched transactions ends in exactly the state
// (sessions, receivers, groups, messages, pending, prekeys) one transaction per envelope
// does, and emits every message once.
func TestSyncBatchedSameState(t *testing.T) {
	tn, g, path, want := syncFixture(t)
	ctx := context.Background()
	batched, bevs := openCopy(t, tn, path, "batched", func(s *persistence.Store) storage.Store { return s })
	plain, pevs := openCopy(t, tn, path, "plain", func(s *persistence.Store) storage.Store { return plainStore{s} })
	for _, c := range []*protocol.Client{batched, plain} {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Messages(ctx, g, protocol.MessageFilter{})
		if err != nil || len(msgs) != want {
			t.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, want)
		}
	}
	if b, p := protocol.StateDigest(batched), protocol.StateDigest(plain); b != p {
		t.Fatal("batched Sync ends in another state than one transaction per envelope")
	}
	if b, p := received(bevs), received(pevs); b != want-2 || p != want-2 {
		t.Fatalf("message events: batched %d, plain %d, want %d", b, p, want-2)
	}
}

// TestSyncBatchCommitFails: when a batch's commit fails, nothing of it is stored or
// leaves the client (no event), and the next Sync stores every message exactly once.
func TestSyncBatchCommitFails(t *testing.T) {
	tn, g, path, want := syncFixture(t)
	ctx := context.Background()
	var fs *failingBatches
	c, evs := openCopy(t, tn, path, "r2", func(s *persistence.Store) storage.Store {
		fs = &failingBatches{Store: s, fail: true}
		return fs
	})
	if err := c.Sync(ctx); err == nil {
		t.Fatal("Sync succeeded with failing commits")
	}
	msgs, err := c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("after the failed Sync: %d messages (%v), want the 2 from before", len(msgs), err)
	}
	if n := received(evs); n != 0 {
		t.Fatalf("%d message events from a batch that was not committed", n)
	}
	fs.fail = false
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err = c.Messages(ctx, g, protocol.MessageFilter{})
	if err != nil || len(msgs) != want {
		t.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, want)
	}
	if n := received(evs); n != want-2 {
		t.Fatalf("%d message events, want %d", n, want-2)
	}
}

// TestSyncBatchMatchesFloor: the batched store floor (internal/floor) commits as many
// envelopes per transaction as Sync does, so that Sync's CPU target compares like with
// like.
func TestSyncBatchMatchesFloor(t *testing.T) {
	if floor.BatchSize != protocol.SyncBatch {
		t.Fatalf("floor.BatchSize %d, protocol.SyncBatch %d", floor.BatchSize, protocol.SyncBatch)
	}
}
