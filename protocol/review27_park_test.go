package protocol_test

import (
	"context"
	cryptorand "crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
)

// TestReview27DepartedParkBounded — fix 35's pending path, attacked (a scene that HOLDS: a
// regression test). m's account is removed (fix31StepDownRemove) while m2, its other
// installation, is paused: it keeps the old epoch and state. m2 then signs renames that
// name the heads it holds (before the removal: concurrent with it) plus a parent that
// exists nowhere, and sends them (SendMembershipForTest: unchecked), so that each is pending
// in the merge at every member, forever. Asserted at c: its membership heads and pending
// events do not change (nothing enters the log before it is judged), the envelopes kept
// pending claim m2's installation and stay within MaxPendingBytesPerSender, and the group
// still works (texts both ways). Measured (review27 = main 53b8fd8 + fix35): passes 3 of 3.
func TestReview27DepartedParkBounded(t *testing.T) {
	ctx := context.Background()
	tn, a, b, m, m2, c, g := fix31Scene(t, 2731)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	old := protocol.HeadsForTest(m2.c, g)
	m.pause()
	m2.pause()
	removeM(t, tn, a, m, m2, g, a, b, c)
	h0, p0 := protocol.HeadsForTest(c.c, g), protocol.PendingEventsForTest(c.c, g)
	const n = 8
	for i := range n {
		var fake membership.EventID
		_, _ = cryptorand.Read(fake[:])
		ev, err := membership.SignEvent(protocol.AccountKeyForTest(m2.c), info.ChatID, membership.Event{Type: membership.NameChanged,
			Name: fmt.Sprintf("parked %d", i), Clock: uint64(time.Now().UnixMilli()), Parents: append(slices.Clone(old), fake)})
		must(t, err)
		update, err := (&membership.Message{ChatID: info.ChatID, Events: []membership.Event{ev}}).MarshalBinary()
		must(t, err)
		must(t, protocol.SendMembershipForTest(m2.c, g, update))
	}
	time.Sleep(200 * time.Millisecond)
	tn.settle(a, b, c)
	claimed, count := protocol.PendingClaimedForTest(c.c, m2.c)
	h1, p1 := protocol.HeadsForTest(c.c, g), protocol.PendingEventsForTest(c.c, g)
	t.Logf("c: heads %d -> %d, pending events %d -> %d; pending envelopes %d, %d bytes claimed by m2", len(h0), len(h1), p0, p1, count, claimed)
	if !slices.Equal(h0, h1) || p1 != p0 {
		t.Errorf("c: a removed installation's parked renames changed the log (heads %d -> %d, pending events %d -> %d)", len(h0), len(h1), p0, p1)
	}
	if claimed == 0 || claimed > protocol.MaxPendingBytesPerSender {
		t.Errorf("c: %d bytes pending claimed by m2 (want some, at most %d)", claimed, protocol.MaxPendingBytesPerSender)
	}
	info, err = c.c.Group(ctx, g)
	must(t, err)
	if info.Name != "f25" {
		t.Errorf("c: name %q, want %q", info.Name, "f25")
	}
	mustSend(t, a, g, "from a")
	mustSend(t, c, g, "from c")
	tn.settle(a, b, c)
	waitTexts(t, tn, g, []string{"from a", "from c"}, a, b, c)
}
