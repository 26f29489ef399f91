package persistence

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestSendPages counts the pages a v2 group send's transaction and its publish mark
// (PublishedSole) write to a file store's WAL (issue 16), as TestReceivePages does for a
// receive. The send writes the group's clock and history, the message (its row, its id
// index, its group index), the outbox record (its row and two indexes) and the sender
// chain: eight B-trees, one page each — no sqlite_sequence page (the store assigns
// outbox ids itself, never reusing one while the process may refer to it). The mark
// deletes the record (row and two index entries) and sets the message Published.
func TestSendPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "send.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, ep := storage.GroupID{1}, [32]byte{2}
	var rec *storage.OutboxRecord
	send := func(i int) func(tx storage.StoreTx) error {
		return func(tx storage.StoreTx) error {
			if err := tx.PutGroupClock(g, uint64(i), bytes.Repeat([]byte{byte(i)}, 64), t0); err != nil {
				return err
			}
			id := storage.MessageID{byte(i), byte(i >> 8), 1}
			m := &storage.MessageRecord{ID: id, Group: g, Outgoing: true, Timestamp: t0, Body: []byte("hello")}
			if ok, err := tx.PutMessage(m); err != nil || !ok {
				t.Fatalf("message %d: %v %v", i, ok, err)
			}
			rec = &storage.OutboxRecord{Message: id, HasMessage: true, Topic: "/t", Payload: bytes.Repeat([]byte{byte(i)}, 200),
				Status: storage.StatusUnpublished, NextAttempt: t0, CreatedAt: t0}
			if err := tx.PutOutbox(rec); err != nil {
				return err
			}
			return tx.PutSenderChain(&storage.EpochChainRecord{Group: g, Epoch: ep, State: bytes.Repeat([]byte{byte(i)}, 72), Lease: uint32(i)})
		}
	}
	mark := func(tx storage.StoreTx) error {
		if changed, err := tx.PublishedSole(rec); err != nil || !changed {
			t.Fatalf("mark: %v %v", changed, err)
		}
		return nil
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		return tx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "c", Topic: "/t", JoinedAt: t0})
	})
	for i := 1; i <= 20; i++ {
		inTx(t, s, send(i))
		inTx(t, s, mark)
	}
	truncateWAL(t, s)
	inTx(t, s, send(21))
	if n := walFrames(t, s, path); n > 8 {
		t.Errorf("a send writes %d pages, want at most 8", n)
	}
	truncateWAL(t, s)
	inTx(t, s, mark)
	if n := walFrames(t, s, path); n > 4 {
		t.Errorf("a publish mark writes %d pages, want at most 4", n)
	}
}
