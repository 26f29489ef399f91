package protocol_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestHealCheckKeptAfterKeyEvent: a receiver that finds the group healed after applying a
// key event keeps that finding for its next send (which skipped the check only after a
// send of its own found it), in agreement with the check computed afresh; a transaction
// that fails keeps nothing, and the same publish applied afterwards does.
func TestHealCheckKeptAfterKeyEvent(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 81}, 0)
	admin, rx, others, g := keyEventGroup(t, tn, "heal", 3)
	ctx := context.Background()
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	tp := newTap(t, tn.net, info.Topic)
	rx.pause()
	seen := len(tp.all())
	removal := func(victim *peer) func() {
		t.Helper()
		must(t, admin.c.RemoveMembers(ctx, g, victim.id))
		tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		return func() {
			for _, e := range envs {
				protocol.Inject(rx.c, e.Topic, e.Payload)
			}
		}
	}
	check := func(what string, wantCached bool) {
		t.Helper()
		cached, fresh, err := protocol.HealthyForTest(rx.c, g)
		must(t, err)
		if !fresh {
			t.Fatalf("%s: the group is not healed", what)
		}
		if cached != wantCached {
			t.Fatalf("%s: kept as healed: %v, want %v", what, cached, wantCached)
		}
	}
	removal(others[0])()
	check("after a removal", true)

	apply := removal(others[1])
	protocol.ForgetHealthyForTest(rx.c, g)
	protocol.SetCommitHookForTest(rx.c, func() error { return errors.New("injected commit failure") })
	apply()
	protocol.SetCommitHookForTest(rx.c, nil)
	check("after a failed transaction", false)
	apply()
	check("after the removal applied", true)
	_, _, want := protocol.EpochInfo(admin.c, g)
	if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
		t.Fatal("receiver not on the admin's epoch")
	}
}
