package persistence

import (
	"context"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestCloseDuringBatch: closing the store while a batch is open loses the batch (nothing
// of it committed), its EndBatch reports an error and releases the store, and a later
// WithTx, from any context, returns ErrClosed instead of waiting (review4).
func TestCloseDuringBatch(t *testing.T) {
	path := t.TempDir() + "/store.db"
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bctx, err := s.BeginBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(bctx, func(tx storage.StoreTx) error {
		return tx.PutContact(&storage.ContactRecord{Account: "in-batch", DeviceList: []byte{1}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.WithTx(bctx, func(tx storage.StoreTx) error { return nil }); err == nil {
		t.Error("a savepoint of a closed store's batch succeeded")
	}
	if err := s.EndBatch(true); err == nil {
		t.Error("a closed store's batch committed")
	}
	if err := s.WithTx(ctx, func(tx storage.StoreTx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("WithTx after Close: %v, want ErrClosed", err)
	}
	if _, err := s.BeginBatch(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("BeginBatch after Close: %v, want ErrClosed", err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.WithTx(ctx, func(tx storage.StoreTx) error {
		if _, err := tx.Contact("in-batch"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the write of a batch closed before its commit: %v, want not found", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
