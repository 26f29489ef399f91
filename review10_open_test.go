package chorus_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview10OpenTwice (review 10): chorus.Open takes no lock on the data directory
// (the CLI's chorus.lock is app-level), so an embedder that opens one data directory twice
// — two processes, or the C ABI's chorus_client_open called twice — gets two engines on one
// database, each with its own in-memory state (sender chains, leases, caches). Open must
// refuse a data directory another client holds open. When it does not, the test shows what
// the second client does to the group: alice2 opens after alice sent 1 message, so it
// starts its sending chain at alice's lease end (SenderLease = 256); once alice crosses
// that lease, both seal messages at the same iterations of one sender key (same message
// key, two plaintexts), and bob drops the second of each pair as a replay.
func TestReview10OpenTwice(t *testing.T) {
	const rounds = 280
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	dir := t.TempDir()
	net := memory.NewNetwork(memory.Config{History: true})
	defer net.Close()
	open := func(name, node string) (*chorus.Client, error) {
		return chorus.Open(ctx, filepath.Join(dir, name), net.Join(node), protocol.WithBurstSpread(0))
	}
	alice, err := open("alice", "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := open("bob", "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	for _, c := range []*chorus.Client{alice, bob} {
		if _, err := c.CreateAccount(ctx); err != nil {
			t.Fatal(err)
		}
		go c.Run(ctx)
	}
	code, _ := bob.ContactCode(ctx)
	bc, err := alice.AddContact(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	code, _ = alice.ContactCode(ctx)
	if _, err := bob.AddContact(ctx, code); err != nil {
		t.Fatal(err)
	}
	g, err := alice.CreateGroup(ctx, "g", "", bc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, g, protocol.Text("one")); err != nil {
		t.Fatal(err)
	}
	wait := func(n int) []protocol.Message {
		var ms []protocol.Message
		for i := 0; i < 200; i++ {
			_ = bob.Sync(ctx)
			ms, _ = bob.Messages(ctx, g, protocol.MessageFilter{})
			if len(ms) >= n {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		return ms
	}
	if ms := wait(1); len(ms) < 1 {
		t.Fatalf("bob reads %d messages, want the first", len(ms))
	}

	alice2, err := open("alice", "alice2")
	if err != nil {
		t.Logf("second Open of alice's data directory refused: %v", err)
		return
	}
	defer alice2.Close()
	t.Errorf("a second chorus.Open of a data directory held open by another client succeeded; want it refused (the directory is in use)")
	go alice2.Run(ctx)
	sent := []string{"one"}
	send := func(c *chorus.Client, text string) {
		if _, err := c.Send(ctx, g, protocol.Text(text)); err != nil {
			t.Logf("send %q: %v", text, err)
			return
		}
		sent = append(sent, text)
	}
	// alice2 takes a lease of the sending chain; alice then sends past its own lease
	// (protocol.SenderLease iterations) and alice2 sends again.
	send(alice2, "alice2-first")
	for i := 0; i < rounds; i++ {
		send(alice, fmt.Sprintf("alice-%d", i))
	}
	for i := 0; i < 20; i++ {
		send(alice2, fmt.Sprintf("alice2-%d", i))
	}
	t0 := time.Now()
	ms := wait(len(sent))
	if len(ms) < len(sent) {
		time.Sleep(time.Second)
		ms = wait(len(sent))
	}
	got := map[string]bool{}
	for _, m := range ms {
		got[m.Content.Text] = true
	}
	var lost []string
	for _, s := range sent {
		if !got[s] {
			lost = append(lost, s)
		}
	}
	if len(lost) > 8 {
		lost = append(lost[:8], "…")
	}
	t.Logf("sent %d messages from the two clients of alice's directory; bob reads %d after %v; lost %v", len(sent), len(ms), time.Since(t0), lost)
	if len(ms) < len(sent) {
		// Each lost message is one whose sender-key iteration the other client had already
		// sealed another message at: one message key, two plaintexts.
		t.Errorf("bob lost %d of %d messages sent through two clients of one data directory", len(sent)-len(ms), len(sent))
	}
}
