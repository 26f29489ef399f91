package protocol_test

import (
	"context"
	"path/filepath"
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
	deadline := time.Now().Add(spread + 10*time.Second)
	for _, p := range members {
		for p.texts(g)["right after the creation"] == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not read the message sent after the creation", p.name)
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
