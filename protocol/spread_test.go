package protocol_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
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

// TestBurstSpreadDefault (issue 19 item 3): with default options (no WithBurstSpread) a
// group creation's Welcomes are not published at once: each goes out when the creator's
// clock reaches its own not-before time within DefaultBurstSpread, so they do not all
// share a short window of the network's publish times; the creator's own publishes on
// the new group topic (an O(N) creation's messages, a text sent right after) go at once;
// Welcomes still waiting when the creator closes are published when it reopens (here
// after their time has passed); every member then has the group and the text. Adding
// members spreads their Welcomes likewise while the add's event goes out at once. The clock
// of every client and of the memory network is a fake one the test moves.
func TestBurstSpreadDefault(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	type publish struct {
		topic string
		at    time.Time
	}
	var mu sync.Mutex
	var fromA []publish
	tap := func(from string, env transport.Envelope) {
		if from == "a" {
			mu.Lock()
			fromA = append(fromA, publish{env.Topic, env.Timestamp})
			mu.Unlock()
		}
	}
	tn := newNetWith(t, memory.Config{Seed: 47, Now: now, Tap: tap}, 0, protocol.WithEpochs(true), protocol.WithClock(now))
	a := tn.addSpreading("a", filepath.Join(t.TempDir(), "a.db")) // the client's defaults; a file store: a restarts
	var members []*peer
	for i := range 8 { // 9 installations: the O(N) creation, which publishes on the group topic too
		members = append(members, tn.add(fmt.Sprint("m", i)))
	}
	tn.connect(append([]*peer{a}, members...)...)
	ctx := context.Background()
	mu.Lock()
	fromA = nil
	mu.Unlock()
	start := now()
	g, err := a.c.CreateGroup(ctx, "default spread", "", ids(members...)...)
	must(t, err)
	mustSend(t, a, g, "at once")
	info, err := a.c.Group(ctx, g)
	must(t, err)
	waiting := protocol.Waiting(a.c)
	if len(waiting) != len(members) {
		t.Fatalf("%d records waiting right after the creation, want %d Welcomes (spread by default): %+v", len(waiting), len(members), waiting)
	}
	due := map[string][]time.Time{} // Welcome topic (inbox partition, shared by chance) -> not-before times, in order
	for _, w := range waiting {
		if w.Topic == info.Topic {
			t.Errorf("a record on the group topic waits: the creator's messages must go at once")
		}
		if w.NextAttempt.Before(start) || !w.NextAttempt.Before(start.Add(protocol.DefaultBurstSpread)) {
			t.Errorf("not-before %v outside [%v, %v)", w.NextAttempt, start, start.Add(protocol.DefaultBurstSpread))
		}
		due[w.Topic] = append(due[w.Topic], w.NextAttempt)
	}
	for _, ts := range due {
		slices.SortFunc(ts, time.Time.Compare)
	}
	mu.Lock()
	atOnce := slices.Clone(fromA)
	mu.Unlock()
	if len(atOnce) == 0 {
		t.Fatal("nothing published at the creation: the group topic's messages must go at once")
	}
	for _, p := range atOnce {
		if p.topic != info.Topic {
			t.Errorf("published at the creation on %s, not the group topic", p.topic)
		}
	}
	// Move the clock through the first half of the window: each Welcome is published
	// when its time comes, not before.
	const step = 250 * time.Millisecond
	for d := step; d <= protocol.DefaultBurstSpread/2; d += step {
		clock.Store(start.Add(d).UnixNano())
		tn.waitFor("due Welcomes published", func() bool {
			for _, w := range protocol.Waiting(a.c) {
				if !w.NextAttempt.After(now()) {
					return false
				}
			}
			return true
		})
	}
	left := len(protocol.Waiting(a.c))
	// Close, let the rest fall due, reopen: the rest go out at once.
	a.stop()
	clock.Store(start.Add(protocol.DefaultBurstSpread + time.Second).UnixNano())
	a.start(false)
	tn.waitFor("the Welcomes left at the restart published", func() bool { return len(protocol.Waiting(a.c)) == 0 })
	mu.Lock()
	welcomes := map[string][]time.Time{} // the first publishes on each Welcome topic: its Welcomes, in order
	for _, p := range fromA[len(atOnce):] {
		if len(welcomes[p.topic]) < len(due[p.topic]) {
			welcomes[p.topic] = append(welcomes[p.topic], p.at)
		}
	}
	mu.Unlock()
	var first, last time.Time
	published := 0
	for topic, ts := range due {
		if len(welcomes[topic]) != len(ts) {
			t.Fatalf("%d of the %d Welcomes on %s published", len(welcomes[topic]), len(ts), topic)
		}
		for i, at := range welcomes[topic] {
			published++
			if at.Before(ts[i]) {
				t.Errorf("Welcome on %s published at %v, before its time %v", topic, at.Sub(start), ts[i].Sub(start))
			}
			if ts[i].Before(start.Add(protocol.DefaultBurstSpread/2)) && at.After(ts[i].Add(step+time.Second)) {
				t.Errorf("Welcome on %s published at %v, its time was %v", topic, at.Sub(start), ts[i].Sub(start))
			}
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
	}
	if last.Sub(first) < time.Second {
		t.Errorf("the %d Welcomes were published within %v of each other", published, last.Sub(first))
	}
	t.Logf("default spread %v: %d Welcomes on %d partitions published from %v to %v after the creation (%d left at the restart at %v)",
		protocol.DefaultBurstSpread, published, len(due), first.Sub(start).Round(time.Millisecond), last.Sub(start).Round(time.Millisecond),
		left, protocol.DefaultBurstSpread/2)
	waitTexts(t, tn, g, []string{"at once"}, members...)

	// Adding members: their Welcomes are spread too; the event goes out at once.
	z1, z2 := tn.add("z1"), tn.add("z2")
	tn.connect(a, z1, z2)
	mu.Lock()
	before := len(fromA)
	mu.Unlock()
	added := now()
	must(t, a.c.AddMembers(ctx, g, z1.id, z2.id))
	waiting = protocol.Waiting(a.c)
	if len(waiting) != 2 {
		t.Fatalf("%d records waiting right after adding 2 members, want their 2 Welcomes: %+v", len(waiting), waiting)
	}
	for _, w := range waiting {
		if w.Topic == info.Topic || !w.NextAttempt.Before(added.Add(protocol.DefaultBurstSpread)) {
			t.Errorf("waiting record on %s until %v: want a Welcome within the spread", w.Topic, w.NextAttempt.Sub(added))
		}
	}
	mu.Lock()
	onGroup := 0
	for _, p := range fromA[before:] {
		if p.topic == info.Topic {
			onGroup++
		}
	}
	mu.Unlock()
	if onGroup == 0 {
		t.Error("the add's event was not published at once on the group topic")
	}
	clock.Store(added.Add(protocol.DefaultBurstSpread).UnixNano())
	tn.waitFor("the newcomers' Welcomes published", func() bool { return len(protocol.Waiting(a.c)) == 0 })
	mustSend(t, a, g, "after the add")
	waitTexts(t, tn, g, []string{"after the add"}, z1, z2)
}
