package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/waku"
)

// runDemoRLN implements `chorus demo-rln` (make demo-rln): two clients on RLN-enabled
// go-waku nodes and a node without RLN, on loopback, narrating the quota, a burst that
// waits for quota and is delivered, and a publish without a proof that nobody receives.
func runDemoRLN(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("demo-rln")
	c.register(fs)
	burst := fs.Int("burst", 5, "messages alice sends at once")
	if _, err := parse(fs, args, s, "demo-rln [--burst N]"); err != nil {
		return fail(s, &c, err)
	}
	if !waku.RLNAvailable {
		return fail(s, &c, waku.ErrRLNUnavailable)
	}
	if err := demoRLN(ctx, s, *burst); err != nil {
		return fail(s, &c, err)
	}
	return exitOK
}

func demoRLN(ctx context.Context, s *stdio, burst int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	say := func(format string, a ...any) { fmt.Fprintf(s.out, format+"\n", a...) }
	dir, err := os.MkdirTemp("", "chorus-demo-rln-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)

	say("== RLN demo: go-waku v0.10.3 RLN-v1, one message per one-second epoch per member")
	rss0 := rssKiB()
	t0 := time.Now()
	creds, err := waku.NewRLNCredentials(2)
	if err != nil {
		return err
	}
	group := []waku.RLNCommitment{creds[0].IDCommitment, creds[1].IDCommitment}
	say("created an RLN group of 2 members (alice, bob) in %v", time.Since(t0).Round(time.Millisecond))

	type member struct {
		name string
		node *waku.Node
		c    *protocol.Client
		id   string
	}
	var members []*member
	for i, name := range []string{"alice", "bob"} {
		d := filepath.Join(dir, name)
		var peers []string
		for _, m := range members {
			peers = append(peers, m.node.ListenAddrs()...)
		}
		t1 := time.Now()
		node, err := waku.New(ctx, waku.Config{Peers: peers, Logger: quiet, RLN: &waku.RLNConfig{Credential: creds[i], Group: group,
			TreePath: filepath.Join(d, "rln-tree"), StatePath: filepath.Join(d, "rln-epoch")}})
		if err != nil {
			return err
		}
		defer node.Close()
		say("%s: RLN node up in %v (zerokit set-up %v)", name, time.Since(t1).Round(time.Millisecond), node.RLNStats().SetupTime.Round(time.Millisecond))
		store, err := persistence.Open(filepath.Join(d, "chorus.db"))
		if err != nil {
			return err
		}
		defer store.Close()
		cl, err := protocol.New(ctx, store, node, protocol.WithSyncInterval(-1), protocol.WithBurstSpread(0))
		if err != nil {
			return err
		}
		defer cl.Close()
		info, err := cl.CreateAccount(ctx)
		if err != nil {
			return err
		}
		go func() { _ = cl.Run(ctx) }()
		members = append(members, &member{name: name, node: node, c: cl, id: info.ID})
	}
	if rss := rssKiB(); rss > 0 && rss0 > 0 {
		say("memory: %.0f MiB more resident (zerokit for the credentials, then 2 RLN nodes)", float64(rss-rss0)/1024)
	}
	alice, bob := members[0], members[1]
	mallory, err := waku.New(ctx, waku.Config{Peers: append(alice.node.ListenAddrs(), bob.node.ListenAddrs()...), Logger: quiet})
	if err != nil {
		return err
	}
	defer mallory.Close()
	say("mallory: a Waku node without RLN membership, connected to both")
	for deadline := time.Now().Add(30 * time.Second); alice.node.PeerCount() < 2 || bob.node.PeerCount() < 2; {
		if time.Now().After(deadline) {
			return fmt.Errorf("the nodes did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	showQuota := func(m *member) {
		q, _ := m.c.Quota()
		say("  %s's quota: %d of %d left in epoch %d (resets in %v), %d queued", m.name, q.Remaining, q.Limit, q.Epoch,
			time.Until(q.ResetAt).Round(time.Millisecond), q.Queued)
	}
	showQuota(alice)

	for _, a := range members {
		code, err := a.c.ContactCode(ctx)
		if err != nil {
			return err
		}
		for _, b := range members {
			if a != b {
				if _, err := b.c.AddContact(ctx, code); err != nil {
					return err
				}
			}
		}
	}
	evs := alice.c.Subscribe(ctx)
	var mu sync.Mutex
	queued := map[protocol.MessageID]time.Time{}
	go func() {
		for ev := range evs {
			if mq, ok := ev.(*protocol.MessageQueued); ok {
				mu.Lock()
				queued[mq.ID] = mq.ExpectedAt
				mu.Unlock()
			}
		}
	}()
	t2 := time.Now()
	g, err := alice.c.CreateGroup(ctx, "rln demo", "", bob.id)
	if err != nil {
		return err
	}
	say("alice creates a group with bob (the Welcome and the membership message each take an epoch)")
	showQuota(alice)
	waitUntil := func(d time.Duration, cond func() bool) bool {
		for deadline := time.Now().Add(d); !cond(); {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(10 * time.Millisecond)
		}
		return true
	}
	if !waitUntil(60*time.Second, func() bool { _, err := bob.c.Group(ctx, g); return err == nil }) {
		return fmt.Errorf("bob was not welcomed")
	}
	say("bob joined after %v", time.Since(t2).Round(time.Millisecond))
	waitUntil(30*time.Second, func() bool { q, _ := alice.c.Quota(); return q.Queued == 0 })

	say("\n== a burst: alice sends %d messages at once", burst)
	t3 := time.Now()
	ids := make([]protocol.MessageID, burst)
	for i := range burst {
		if ids[i], err = alice.c.Send(ctx, g, protocol.Text(fmt.Sprintf("burst %d", i+1))); err != nil {
			return err
		}
	}
	showQuota(alice)
	time.Sleep(100 * time.Millisecond) // let the events reach us
	mu.Lock()
	for i, id := range ids {
		if at, ok := queued[id]; ok {
			say("  burst %d queued (MessageQueued), expected in %v", i+1, at.Sub(t3).Round(100*time.Millisecond))
		}
	}
	mu.Unlock()
	seen := map[string]bool{}
	ok := waitUntil(time.Duration(burst+30)*time.Second, func() bool {
		msgs, _ := bob.c.Messages(ctx, g, protocol.MessageFilter{})
		for _, m := range msgs {
			if t := m.Content.Text; strings.HasPrefix(t, "burst ") && !seen[t] {
				seen[t] = true
				say("  bob received %q after %v", t, time.Since(t3).Round(time.Millisecond))
			}
		}
		return len(seen) == burst
	})
	if !ok {
		return fmt.Errorf("the burst did not arrive (%d of %d)", len(seen), burst)
	}
	say("all %d delivered in %v: one per epoch, none lost, none failed", burst, time.Since(t3).Round(time.Millisecond))

	info, err := alice.c.Group(ctx, g)
	if err != nil {
		return err
	}
	say("\n== mallory publishes on the group's topic without a proof")
	sub, err := bob.node.Subscribe(ctx, []string{info.Topic})
	if err != nil {
		return err
	}
	own, err := mallory.Subscribe(ctx, []string{info.Topic})
	if err != nil {
		return err
	}
	if _, err := mallory.Publish(ctx, info.Topic, []byte("spam without a proof")); err != nil {
		return err
	}
	select {
	case <-own:
		say("  mallory's own node has it (it was published)")
	case <-time.After(5 * time.Second):
	}
	select {
	case env := <-sub:
		return fmt.Errorf("bob's node received %q", env.Payload)
	case <-time.After(3 * time.Second):
		say("  nobody else received it: RLN relays drop messages without a valid proof")
	}
	for _, m := range members {
		st := m.node.RLNStats()
		per := time.Duration(0)
		if st.Proofs > 0 {
			per = st.ProofTime / time.Duration(st.Proofs)
		}
		say("%s: %d proofs, %v per proof, %d spam reports", m.name, st.Proofs, per.Round(time.Millisecond), st.Spam)
	}
	return nil
}

// rssKiB is the process's resident memory (Linux), 0 if unknown.
func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v int64
		if _, err := fmt.Sscanf(sc.Text(), "VmRSS: %d kB", &v); err == nil {
			return v
		}
	}
	return 0
}
