package protocol_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestBurstSpread (issue 19 item 3): with WithBurstSpread(d) the Welcomes of a group
// creation are stored with distinct not-before times within [now, now + d), are not
// published at once, survive a restart of the creator, and arrive; a message the creator
// sends meanwhile reaches the members too.
func TestBurstSpread(t *testing.T) {
	const spread = 1500 * time.Millisecond
	tn := newEpochNet(t, memory.Config{Seed: 41}, 0)
	a := tn.addAt("a", filepath.Join(t.TempDir(), "a.db"), protocol.WithBurstSpread(spread)) // a file store: a restarts
	var members []*peer
	for _, name := range []string{"b", "c", "d", "e"} {
		members = append(members, tn.add(name))
	}
	tn.connect(append([]*peer{a}, members...)...)
	ctx := context.Background()
	before := tn.net.Stats()
	start := time.Now()
	g, err := a.c.CreateGroup(ctx, "spread", "", ids(members...)...)
	must(t, err)
	if p := tn.net.Stats().Publishes - before.Publishes; p != 0 {
		t.Errorf("%d publishes right after the creation, want 0 (spread)", p)
	}
	waiting := protocol.Waiting(a.c)
	if len(waiting) != len(members) {
		t.Fatalf("%d records waiting, want %d Welcomes: %+v", len(waiting), len(members), waiting)
	}
	seen := map[time.Time]bool{}
	for _, w := range waiting {
		if w.NextAttempt.Before(start.Add(-time.Second)) || !w.NextAttempt.Before(time.Now().Add(spread)) {
			t.Errorf("not-before %v outside [%v, %v)", w.NextAttempt, start, start.Add(spread))
		}
		if seen[w.NextAttempt] {
			t.Errorf("two records of one burst share the not-before time %v", w.NextAttempt)
		}
		seen[w.NextAttempt] = true
	}
	mustSend(t, a, g, "right after the creation")
	a.restart() // the delayed Welcomes are in the store
	if got := len(protocol.Waiting(a.c)); got == 0 && time.Since(start) < spread/2 {
		t.Error("delayed records lost across the restart")
	}
	// Latency: when each member has the group (its Welcome processed), from the creation.
	joined := map[*peer]time.Duration{}
	for limit := time.Now().Add(spread + 10*time.Second); len(joined) < len(members) && time.Now().Before(limit); {
		for _, p := range members {
			if _, ok := joined[p]; !ok {
				if _, err := p.c.Group(ctx, g); err == nil {
					joined[p] = time.Since(start)
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	var sum, last time.Duration
	for _, d := range joined {
		sum, last = sum+d, max(last, d)
	}
	if len(joined) == len(members) {
		t.Logf("spread %v, %d Welcomes: members joined after %v on average, the last after %v (expected %v and %v)",
			spread, len(members), (sum / time.Duration(len(members))).Round(time.Millisecond), last.Round(time.Millisecond),
			spread/2, spread*time.Duration(len(members))/time.Duration(len(members)+1))
	}
	deadline := time.Now().Add(spread + 10*time.Second)
	for _, p := range members {
		for p.texts(g)["right after the creation"] == 0 {
			if time.Now().After(deadline) {
				_, gerr := p.c.Group(ctx, g)
				t.Fatalf("%s did not read the message sent after the creation (group: %v; a waits for %+v; texts %v)",
					p.name, gerr, protocol.Waiting(a.c), p.texts(g))
			}
			tn.settle(p)
		}
	}
	if elapsed := time.Since(start); elapsed > spread+10*time.Second {
		t.Errorf("burst took %v", elapsed)
	}
	mustSend(t, members[0], g, "reply")
	waitTexts(t, tn, g, []string{"reply"}, a, members[1])
}

// TestBurstSpreadRevoke: a revocation's publishes to every group of the account are
// spread (distinct not-before times within the bound, none published at once), and the
// revocation still takes effect: members move on without the revoked installation.
func TestBurstSpreadRevoke(t *testing.T) {
	const spread = time.Second
	tn := newEpochNet(t, memory.Config{Seed: 43}, 0)
	a := tn.addAt("a", ":memory:", protocol.WithBurstSpread(spread))
	b, c := tn.add("b"), tn.add("c")
	tn.connect(a, b, c)
	ctx := context.Background()
	var groups []protocol.GroupID
	topics := map[string]bool{}
	for i := range 3 {
		g, err := a.c.CreateGroup(ctx, fmt.Sprint("g", i), "", b.id, c.id)
		must(t, err)
		info, err := a.c.Group(ctx, g)
		must(t, err)
		groups, topics[info.Topic] = append(groups, g), true
	}
	tn.waitFor("members welcomed", func() bool {
		for _, g := range groups {
			for _, p := range []*peer{b, c} {
				if _, err := p.c.Group(ctx, g); err != nil {
					return false
				}
			}
		}
		return true
	})
	a2 := tn.link(a, "a2")
	tn.waitFor("the link's spread publishes out", func() bool { return len(protocol.Waiting(a.c)) == 0 })
	tn.settle()
	info, err := a2.c.Account()
	must(t, err)
	before := tn.net.Stats()
	start := time.Now()
	must(t, a.c.RevokeInstallation(ctx, info.Installation))
	if p := tn.net.Stats().Publishes - before.Publishes; p != 0 {
		t.Errorf("%d publishes right after the revocation, want 0 (spread)", p)
	}
	seen := map[time.Time]bool{}
	onGroups := 0
	for _, w := range protocol.Waiting(a.c) {
		if !w.NextAttempt.Before(time.Now().Add(spread)) || w.NextAttempt.Before(start) {
			t.Errorf("not-before %v outside [%v, %v)", w.NextAttempt, start, start.Add(spread))
		}
		if seen[w.NextAttempt] {
			t.Errorf("two records share the not-before time %v", w.NextAttempt)
		}
		seen[w.NextAttempt] = true
		if topics[w.Topic] {
			onGroups++
		}
	}
	if onGroups != len(groups) {
		t.Fatalf("%d spread records on the group topics, want %d", onGroups, len(groups))
	}
	// A message sent now in a group waits behind that group's spread publish (its rekey).
	g0, err := a.c.Group(ctx, groups[0])
	must(t, err)
	id, err := a.c.Send(ctx, groups[0], protocol.Text("right after the revocation"))
	must(t, err)
	var rekeyAt, msgAt time.Time
	for _, w := range protocol.Waiting(a.c) {
		if w.Topic != g0.Topic {
			continue
		}
		if w.HasMessage && msgAt.IsZero() && w.NextAttempt.After(rekeyAt) && !rekeyAt.IsZero() {
			msgAt = w.NextAttempt
		} else if rekeyAt.IsZero() {
			rekeyAt = w.NextAttempt
		}
	}
	if rekeyAt.IsZero() || msgAt.IsZero() {
		t.Fatalf("the message does not wait behind the group's spread publish: %+v", protocol.Waiting(a.c))
	}
	tn.waitFor("MessageQueued for the delayed message", func() bool { // events arrive asynchronously
		return len(a.eventsOf(func(e protocol.Event) bool { q, ok := e.(*protocol.MessageQueued); return ok && q.ID == id })) == 1
	})
	tn.waitFor("the revocation reaches the members", func() bool {
		for _, p := range []*peer{b, c} {
			ct, err := p.c.Contact(ctx, a.id)
			if err != nil || slices.Contains(ct.Installations, info.Installation) {
				return false
			}
		}
		return true
	})
	waitTexts(t, tn, groups[0], []string{"right after the revocation"}, b, c)
	for _, g := range groups {
		mustSend(t, b, g, "after the revocation")
		waitTexts(t, tn, g, []string{"after the revocation"}, a, c)
		tn.settle()
		if a2.texts(g)["after the revocation"] != 0 {
			t.Errorf("revoked installation read a message sent after its revocation")
		}
	}
}
