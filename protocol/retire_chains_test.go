package protocol_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestRetiredSenderChainsDeleted: a receiver's sending chains of the epochs key events
// retire are deleted as when every key event deleted in both tables (the client skips the
// sending chains' delete when it knows none retires): after every removal applied, the
// stored sending chains are of openable epochs only, and those of the epochs it sent in
// are gone once retired; a transaction that fails leaves them as they were, and the same
// publish applied afterwards deletes as it should.
func TestRetiredSenderChainsDeleted(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 91}, 0)
	admin, rx, others, g := keyEventGroup(t, tn, "retire", 10)
	ctx := context.Background()
	tp, seen := tapPaused(t, tn, admin, rx, g)
	chains := func(what string) (stored, keep [][32]byte) {
		t.Helper()
		stored, keep, err := protocol.SenderChainsForTest(rx.c, g)
		must(t, err)
		for _, e := range stored {
			if !slices.Contains(keep, e) {
				t.Fatalf("%s: a sending chain of a retired epoch %x is stored", what, e[:4])
			}
		}
		return stored, keep
	}
	send := func() [32]byte {
		t.Helper()
		before, _ := chains("before a send")
		mustSend(t, rx, g, "hello")
		after, _ := chains("after a send")
		for _, e := range after {
			if !slices.Contains(before, e) {
				return e
			}
		}
		t.Fatal("a send stored no sending chain of a new epoch")
		return [32]byte{}
	}
	var sentIn [][32]byte
	sentIn = append(sentIn, send())
	for i, victim := range others {
		must(t, admin.c.RemoveMembers(ctx, g, victim.id))
		tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		before, _ := chains("before a failed transaction")
		protocol.SetCommitHookForTest(rx.c, func() error { return errors.New("injected commit failure") })
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		protocol.SetCommitHookForTest(rx.c, nil)
		if after, _ := chains("after a failed transaction"); !slices.Equal(after, before) {
			t.Fatalf("removal %d: a failed transaction changed the stored sending chains", i)
		}
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		_, _, want := protocol.EpochInfo(admin.c, g)
		if _, _, got := protocol.EpochInfo(rx.c, g); got != want {
			t.Fatalf("removal %d: receiver not on the admin's epoch", i)
		}
		chains("after a removal")
		if i == 2 {
			sentIn = append(sentIn, send())
		}
	}
	stored, keep := chains("at the end")
	for _, e := range sentIn {
		if slices.Contains(keep, e) {
			t.Fatalf("epoch %x not retired after %d key events: the test proves nothing", e[:4], len(others))
		}
		if slices.Contains(stored, e) {
			t.Fatalf("the sending chain of retired epoch %x is kept", e[:4])
		}
	}
}
