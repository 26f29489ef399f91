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

// TestReview32RemovedCannotStorm (held scene, passes) — the TestReview32TwinWelcomeStorm
// rounds by r, a non-admin removed BEFORE a's snapshot add of x (A): r signs E_k, its
// leave (the one event a non-admin may sign; clock ahead) with its pre-removal past
// (concurrent with its removal R and with A), then E_k', the same leave naming a's heads
// (after R and A). E_k' is invalid (r is no member in its past) and discarded; E_1 is kept
// overridden (one full-log Welcome: answered), later E_k are held twins of E_1 (later in
// T), so E_1 stays in a's kept set and A stays answered. (r cannot publish to the group:
// b relays its signed events unchanged.) Asserted: at most one full-log Welcome over 3
// rounds. Result: passes (1 Welcome). A member removed AFTER A can storm like any member:
// its E_k' after A and before its removal is valid (not run here).
func TestReview32RemovedCannotStorm(t *testing.T) {
	ctx := context.Background()
	var welcomes atomic.Int64
	tn := newEpochNet(t, memory.Config{Seed: 3202}, 0)
	a := tn.addAt("a", filepath.Join(t.TempDir(), "a.db"), protocol.WithSnapshotsAlways(),
		protocol.WithLogger(slog.New(review32Count{&welcomes})))
	b, r, x := tn.add("b"), tn.add("r"), tn.add("x")
	tn.connect(a, b, r, x)
	g, err := a.c.CreateGroup(ctx, "removed", "", b.id, r.id)
	must(t, err)
	tn.settle()
	info, err := a.c.Group(ctx, g)
	must(t, err)
	h0 := protocol.HeadsForTest(a.c, g)
	must(t, a.c.RemoveMembers(ctx, g, r.id)) // R
	tn.settle()
	must(t, a.c.AddMembers(ctx, g, x.id)) // A
	tn.settle()
	tn.waitFor("x joins from a snapshot", func() bool { return protocol.BasedForTest(x.c, g) })
	send := func(ev membership.Event) membership.EventID {
		signed, err := membership.SignEvent(protocol.AccountKeyForTest(r.c), info.ChatID, ev)
		must(t, err)
		update, err := (&membership.Message{ChatID: info.ChatID, Events: []membership.Event{signed}}).MarshalBinary()
		must(t, err)
		must(t, protocol.SendMembershipForTest(b.c, g, update)) // r is no member: b relays its signed event
		return signed.ID()
	}
	const rounds = 3
	for k := 1; k <= rounds; k++ {
		after := protocol.HeadsForTest(a.c, g)
		ek := send(membership.Event{Type: membership.MemberRemoved, Members: membership.MembersOf(r.id),
			Clock: uint64(time.Now().Add(60 * time.Second).UnixMilli()), Parents: slices.Clone(h0)})
		time.Sleep(200 * time.Millisecond)
		tn.settle()
		twin := send(membership.Event{Type: membership.MemberRemoved, Members: membership.MembersOf(r.id),
			Clock: uint64(time.Now().UnixMilli()), Parents: slices.Clone(after)})
		time.Sleep(200 * time.Millisecond)
		tn.settle()
		st := protocol.MembershipStateForTest(a.c, g)
		has := func(list []membership.Event, id membership.EventID) bool {
			return slices.ContainsFunc(list, func(e membership.Event) bool { return e.ID() == id })
		}
		t.Logf("round %d: welcomes %d; E_k applied %v overridden %v pending %v; E_k' kept %v", k, welcomes.Load(),
			has(st.Events, ek), has(st.Overridden, ek), has(st.Pending, ek), has(st.Events, twin) || has(st.Overridden, twin))
	}
	if n := welcomes.Load(); n > 1 {
		t.Errorf("a sent %d full-log Welcomes for one add after %d rounds by a removed member, want at most 1", n, rounds)
	}
}
