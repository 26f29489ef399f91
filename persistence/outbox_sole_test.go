package persistence

import (
	"errors"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestPublishedSole: the send's mark step deletes the record only while it is unpublished,
// sets the message Published and reports the change once; a record already taken (by
// the retry loop) or failed changes nothing.
func TestPublishedSole(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gid := storage.GroupID{1}
	msg, other := storage.MessageID{1}, storage.MessageID{2}
	var rec, failed storage.OutboxRecord
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(&storage.GroupRecord{ID: gid}); err != nil {
			return err
		}
		for _, id := range []storage.MessageID{msg, other} {
			if _, err := tx.PutMessage(&storage.MessageRecord{ID: id, Group: gid, Outgoing: true, Status: storage.StatusUnpublished, Timestamp: t0, Body: []byte("hi")}); err != nil {
				return err
			}
		}
		rec = storage.OutboxRecord{Message: msg, HasMessage: true, Topic: "t", Payload: []byte("p"), CreatedAt: t0}
		failed = storage.OutboxRecord{Message: other, HasMessage: true, Topic: "t", Payload: []byte("q"), Status: storage.StatusFailed, CreatedAt: t0}
		if err := tx.PutOutbox(&rec); err != nil {
			return err
		}
		return tx.PutOutbox(&failed)
	})
	sole := func(o storage.OutboxRecord) bool {
		var changed bool
		inTx(t, s, func(tx storage.StoreTx) error {
			var err error
			changed, err = tx.PublishedSole(&o)
			return err
		})
		return changed
	}
	status := func(id storage.MessageID) storage.DeliveryStatus {
		var m *storage.MessageRecord
		inTx(t, s, func(tx storage.StoreTx) error {
			var err error
			m, err = tx.Message(id)
			return err
		})
		return m.Status
	}
	if !sole(rec) {
		t.Fatal("the first mark reports no change")
	}
	if st := status(msg); st != storage.StatusPublished {
		t.Fatalf("message status %v after the mark", st)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if _, err := tx.Outbox(rec.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the published record is still there: %v", err)
		}
		return nil
	})
	if sole(rec) {
		t.Fatal("a second mark of the same record reports a change")
	}
	if sole(failed) {
		t.Fatal("a failed record was marked published")
	}
	if st := status(other); st != storage.StatusUnpublished {
		t.Fatalf("message of the failed record: status %v", st)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if o, err := tx.Outbox(failed.ID); err != nil || o.Status != storage.StatusFailed {
			t.Fatalf("the failed record: %+v, %v", o, err)
		}
		return nil
	})
}
