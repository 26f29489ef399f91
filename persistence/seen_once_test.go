package persistence

import (
	"context"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestMarkSeenOnce: the receive's one replay-marker statement reports a new marker once,
// a marker set by MarkSeen as old, and a rolled-back transaction's marker is gone.
func TestMarkSeenOnce(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, old, undone := [32]byte{1}, [32]byte{2}, [32]byte{3}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.MarkSeen(old, t0); err != nil {
			return err
		}
		for i, want := range []bool{true, false} {
			fresh, err := tx.MarkSeenOnce(h, t0)
			if err != nil || fresh != want {
				t.Fatalf("mark %d: new %v, %v; want %v", i, fresh, err, want)
			}
		}
		if fresh, err := tx.MarkSeenOnce(old, t0); err != nil || fresh {
			t.Fatalf("marker set by MarkSeen: new %v, %v", fresh, err)
		}
		if ok, err := tx.Seen(h); err != nil || !ok {
			t.Fatalf("Seen after MarkSeenOnce: %v, %v", ok, err)
		}
		return nil
	})
	errUndo := errors.New("undo")
	if err := s.WithTx(context.Background(), func(tx storage.StoreTx) error {
		if fresh, err := tx.MarkSeenOnce(undone, t0); err != nil || !fresh {
			t.Fatalf("new marker: %v, %v", fresh, err)
		}
		return errUndo
	}); !errors.Is(err, errUndo) {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if ok, err := tx.Seen(undone); err != nil || ok {
			t.Fatalf("rolled-back marker kept: %v, %v", ok, err)
		}
		return nil
	})
}
