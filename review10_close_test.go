package chorus_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview10CloseDuringCalls (review 10): closing a client while other goroutines call
// it (an embedder's shutdown; chorus_client_close while another thread's call runs, which
// chorus.h allows: every function from any thread, concurrently) must return, and the
// calls must return too (ErrClosed or their result). Each round opens the directory,
// starts 4 goroutines sending and listing messages, and closes after 20-290 ms.
func TestReview10CloseDuringCalls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "a")
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()
	var g protocol.GroupID
	for round := 0; round < 10; round++ {
		c, err := chorus.Open(ctx, dir, net.Join("a"), protocol.WithBurstSpread(0))
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if _, err := c.CreateAccount(ctx); err != nil {
				t.Fatal(err)
			}
			if g, err = c.CreateGroup(ctx, "g", ""); err != nil {
				t.Fatal(err)
			}
		}
		go c.Run(ctx)
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := map[string]int{}
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 500; j++ {
					_, err := c.Send(ctx, g, protocol.Text("x"))
					if err == nil {
						_, err = c.Messages(ctx, g, protocol.MessageFilter{Limit: 5})
					}
					if err != nil {
						mu.Lock()
						errs[err.Error()]++
						mu.Unlock()
						if !errors.Is(err, protocol.ErrClosed) {
							t.Logf("round %d: a call beside Close: %v", round, err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(20+round*30) * time.Millisecond)
		done := make(chan struct{})
		go func() {
			c.Close()
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close and the calls beside it had not returned after 10 s", round)
		}
		t.Logf("round %d: errors of the calls beside Close: %v", round, errs)
	}
}
