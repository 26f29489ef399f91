package protocol_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// review32Count is a slog handler counting the inviter's full-log Welcomes (the debug line
// reWelcomeConcurrent logs when it sends one).
type review32Count struct{ n *atomic.Int64 }

func (h review32Count) Enabled(context.Context, slog.Level) bool { return true }
func (h review32Count) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "full-log welcome for an add concurrent with an event" {
		h.n.Add(1)
	}
	return nil
}
func (h review32Count) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h review32Count) WithGroup(string) slog.Handler      { return h }

// TestReview32TwinWelcomeStorm — attack on the answered-once rule of the inviter's
// full-log Welcome (reWelcomeConcurrent / concurrentHeld, spec › Snapshots fallback (b):
// "each add is answered once in the group's life"). a (snapshots always) adds x (A; x joins
// from a's snapshot). b, an admin, then repeats, round k = 1..3: it signs E_k, a rename
// with the parents A had (h0: concurrent with A) and a clock 60 s ahead, then E_k', the same
// rename (a twin: same author, same effect, concurrent with E_k) naming a's heads without
// E_k (so after A), with the current clock. Nobody names E_k, and E_k' is earlier in T:
// E_k becomes held (pending) and E_k' kept. concurrentHeld looks only at old's applied and
// overridden events, so once E_k is held nothing in old is concurrent with A any more:
// A counts as unanswered again, and E_{k+1} sends x another full log.
// Asserted: a sends x one full-log Welcome for its add (the first concurrent event), not
// one per round. Result: fails — one full-log Welcome per round (3 for 3 rounds): any
// member (any author of a valid event) makes the inviter send the whole log to every
// newcomer of the add for two events of its own per round; the held E_k only crowd b's
// own pending quota (MaxPendingEventsPerAuthor), which evicts them and changes nothing.
// The hole predates fix 46 (an event that leaves old's kept set by becoming held was never
// counted); fix 46 did not add it.
func TestReview32TwinWelcomeStorm(t *testing.T) {
	ctx := context.Background()
	var welcomes atomic.Int64
	tn := newEpochNet(t, memory.Config{Seed: 3201}, 0)
	a := tn.addAt("a", filepath.Join(t.TempDir(), "a.db"), protocol.WithSnapshotsAlways(),
		protocol.WithLogger(slog.New(review32Count{&welcomes})))
	b, c, x := tn.add("b"), tn.add("c"), tn.add("x")
	tn.connect(a, b, c, x)
	g, err := a.c.CreateGroup(ctx, "storm", "", b.id, c.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle()
	info, err := a.c.Group(ctx, g)
	must(t, err)
	h0 := protocol.HeadsForTest(a.c, g)
	must(t, a.c.AddMembers(ctx, g, x.id)) // A
	tn.settle()
	tn.waitFor("x joins from a snapshot", func() bool { return protocol.BasedForTest(x.c, g) })
	send := func(ev membership.Event) membership.EventID {
		signed, err := membership.SignEvent(protocol.AccountKeyForTest(b.c), info.ChatID, ev)
		must(t, err)
		update, err := (&membership.Message{ChatID: info.ChatID, Events: []membership.Event{signed}}).MarshalBinary()
		must(t, err)
		must(t, protocol.SendMembershipForTest(b.c, g, update))
		return signed.ID()
	}
	const rounds = 3
	for k := 1; k <= rounds; k++ {
		name := "storm " + string(rune('0'+k))
		after := protocol.HeadsForTest(a.c, g) // after A, without E_k
		ek := send(membership.Event{Type: membership.NameChanged, Name: name,
			Clock: uint64(time.Now().Add(60 * time.Second).UnixMilli()), Parents: slices.Clone(h0)})
		tn.waitFor("a holds E_k", func() bool { return slices.Contains(protocol.HeadsForTest(a.c, g), ek) })
		time.Sleep(5 * time.Millisecond)
		twin := send(membership.Event{Type: membership.NameChanged, Name: name,
			Clock: uint64(time.Now().UnixMilli()), Parents: slices.Clone(after)})
		tn.waitFor("a keeps E_k' and holds E_k", func() bool {
			hs := protocol.HeadsForTest(a.c, g)
			return slices.Contains(hs, twin) && !slices.Contains(hs, ek)
		})
		tn.settle()
		t.Logf("round %d: full-log welcomes so far %d; a pending %d", k, welcomes.Load(), protocol.PendingEventsForTest(a.c, g))
	}
	if n := welcomes.Load(); n != 1 {
		t.Errorf("a sent %d full-log Welcomes for one add (%d rounds of a concurrent event and its twin), want 1", n, rounds)
	}
}
