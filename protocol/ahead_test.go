package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestSyncWorkAheadSameState: a Sync whose envelopes are opened, checked and decrypted
// ahead of its batches (ahead.go) ends in exactly the state, with the same message
// events, as one without that work, and the work was used (most frames and messages).
func TestSyncWorkAheadSameState(t *testing.T) {
	tn, g, path, want := syncFixture(t)
	ctx := context.Background()
	ahead, aevs := openCopy(t, tn, path, "ahead", func(s *persistence.Store) storage.Store { return s })
	alone, levs := openCopy(t, tn, path, "alone", func(s *persistence.Store) storage.Store { return s })
	protocol.WithoutWorkAhead(alone)
	for _, c := range []*protocol.Client{ahead, alone} {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Messages(ctx, g, protocol.MessageFilter{})
		if err != nil || len(msgs) != want {
			t.Fatalf("after Sync: %d messages (%v), want %d", len(msgs), err, want)
		}
	}
	if a, l := protocol.StateDigest(ahead), protocol.StateDigest(alone); a != l {
		t.Fatal("Sync with work ahead ends in another state than without")
	}
	if a, l := received(aevs), received(levs); a != want-2 || l != want-2 {
		t.Fatalf("message events: with work ahead %d, without %d, want %d", a, l, want-2)
	}
	if err := protocol.CheckHotViews(ahead); err != nil {
		t.Fatal(err)
	}
	// Every message is checked and decrypted ahead, those of the first batches too (the
	// signing keys a fresh client did not hold in memory are read when the work ahead
	// needs them).
	frames, messages := protocol.WorkAheadUsed(ahead)
	if min := uint64(want - 2); frames < uint64(want-2) || messages < min {
		t.Fatalf("work ahead used for %d frames and %d messages of %d, want all frames and at least %d messages", frames, messages, want-2, min)
	}
	if f, m := protocol.WorkAheadUsed(alone); f != 0 || m != 0 {
		t.Fatalf("work ahead used without it: %d, %d", f, m)
	}
}
