package persistence

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestReview10CloseDuringWrites (review 10): Close while transactions run on other
// goroutines must return, and so must the transactions (with ErrClosed or their own
// result). chorus.Client.Close closes the store after the engine without waiting for
// calls in flight (the C ABI's chorus_client_close while another thread's call runs, an
// embedder closing at shutdown). Store.Close holds stmtMu while it closes the sqlx
// statements, and a database/sql Stmt prepared on the connection takes the connection's
// lock to close; a write holds the connection's lock (Conn.Raw) and then takes stmtMu
// (rawPrepared): the two wait for each other for good.
func TestReview10CloseDuringWrites(t *testing.T) {
	const attempts = 30
	for a := 0; a < attempts; a++ {
		s, err := Open(filepath.Join(t.TempDir(), fmt.Sprintf("close%d.db", a)))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					err := s.WithTx(ctx, func(tx storage.StoreTx) error {
						acct := fmt.Sprintf("w%d-%d", w, i)
						if err := tx.PutContact(&storage.ContactRecord{Account: acct, DeviceList: []byte{1}}); err != nil {
							return err
						}
						_, err := tx.Contact(acct)
						return err
					})
					if err != nil {
						return // closed
					}
				}
			}()
		}
		time.Sleep(time.Duration(1+a%5) * time.Millisecond)
		done := make(chan struct{})
		go func() {
			s.Close()
			close(stop)
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("attempt %d of %d: Close and the transactions running beside it had not returned after 5 s (deadlock: stmtMu against the connection's lock)", a+1, attempts)
		}
	}
}
