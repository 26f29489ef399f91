package persistence

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestStaleBatchContext: the context a batch's BeginBatch returned joins that batch only
// while it is open. After EndBatch, a WithTx with it (a goroutine that kept it, or an
// embedder's reuse) is an ordinary transaction: it waits for another goroutine's
// transaction instead of running as a savepoint inside it, where that transaction's
// rollback undid a write whose WithTx had returned nil (review4: inBatch compared the
// token's store, not whether the token's batch was still open).
func TestStaleBatchContext(t *testing.T) {
	s, err := Open(t.TempDir() + "/store.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	bctx, err := s.BeginBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndBatch(true); err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	started, release := make(chan struct{}), make(chan struct{})
	other := make(chan error, 1)
	go func() {
		other <- s.WithTx(ctx, func(tx storage.StoreTx) error {
			close(started)
			<-release
			return boom // rolled back
		})
	}()
	<-started
	stale := make(chan error, 1)
	go func() {
		stale <- s.WithTx(bctx, func(tx storage.StoreTx) error {
			return tx.PutContact(&storage.ContactRecord{Account: "stale", DeviceList: []byte{1}})
		})
	}()
	select {
	case err := <-stale:
		close(release)
		<-other
		t.Fatalf("a WithTx with an ended batch's context ran inside another goroutine's transaction (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-other; !errors.Is(err, boom) {
		t.Fatalf("other transaction: %v", err)
	}
	if err := <-stale; err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if _, err := tx.Contact("stale"); err != nil {
			t.Errorf("the write of a WithTx that returned nil: %v", err)
		}
		return nil
	})

	// A new batch is not joined by the old batch's context either: it waits for EndBatch.
	bctx2, err := s.BeginBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		stale <- s.WithTx(bctx, func(tx storage.StoreTx) error {
			return tx.PutContact(&storage.ContactRecord{Account: "stale2", DeviceList: []byte{1}})
		})
	}()
	select {
	case err := <-stale:
		_ = s.EndBatch(false)
		t.Fatalf("an ended batch's context joined the next batch (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := s.WithTx(bctx2, func(tx storage.StoreTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.EndBatch(false); err != nil {
		t.Fatal(err)
	}
	if err := <-stale; err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if _, err := tx.Contact("stale2"); err != nil {
			t.Errorf("a write kept out of a rolled-back batch: %v", err)
		}
		return nil
	})
}
