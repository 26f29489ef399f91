package protocol_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestHealOverdueBacksOff: an overdue heal that fails (here its key block's outbox write:
// a full disk) was tried again on every pass of Run's loop (each retry tick, each outbox
// wake-up), a whole rekey built and rolled back each time — at 1000 members about 60 ms of
// CPU and a 120 KB block — for as long as the failure lasted. Scene: the designated
// installation is away when a member leaves; admin and other (the next candidates, heal
// grace 300 ms, retry base 100 ms: a tick every 50 ms) fail every outbox write for 3 s.
//
// Asserted: at most 8 failed heal attempts between them in those 3 s (a back-off from the
// heal grace, doubling: 300 ms, 600 ms, 1.2 s, ... for each: about 4 and 3); once the disk
// is back they still heal, within 10 s, to one epoch past the leave.
func TestHealOverdueBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plain bool
	}{{"store", false}, {"plain", true}} {
		t.Run(tc.name, func(t *testing.T) { healOverdueBacksOff(t, tc.plain) })
	}
}

func healOverdueBacksOff(t *testing.T, plain bool) {
	tn := newNetWith(t, memory.Config{Seed: 1204}, 4, protocol.WithEpochs(true),
		protocol.WithHealGrace(300*time.Millisecond), protocol.WithRetryBackoff(100*time.Millisecond))
	ps := byInstallation(t, tn.peers)
	des, admin, other, x := ps[0], ps[1], ps[2], ps[3]
	tn.connect(ps...)
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "backoff", "", des.id, other.id, x.id)
	must(t, err)
	waitSameEpoch(tn, g, admin, des, other, x)
	setA, failedA := protocol.FailOutboxWritesForTest(admin.c, plain)
	setO, failedO := protocol.FailOutboxWritesForTest(other.c, plain)
	des.pause() // the designated installation is away
	must(t, x.c.Leave(ctx, g))
	tn.waitNotMember("the leave applied", g, x, admin, other)
	_, left, _ := protocol.EpochInfo(admin.c, g)
	setA(true)
	setO(true)
	time.Sleep(3 * time.Second)
	setA(false)
	setO(false)
	n := failedA() + failedO()
	t.Logf("failed outbox writes in 3 s: admin %d, other %d", failedA(), failedO())
	if n == 0 {
		t.Fatal("no heal was attempted while the disk failed: the scene did not happen")
	}
	if n > 8 {
		t.Errorf("%d failed heal attempts in 3 s, want at most 8 (a back-off from the heal grace)", n)
	}
	waitFor(t, 10*time.Second, "admin and other healed once the disk is back", func() bool {
		_, fa, ea := protocol.EpochInfo(admin.c, g)
		_, fo, eo := protocol.EpochInfo(other.c, g)
		return ea == eo && slices.Equal(fa, fo) && !slices.Equal(fa, left)
	})
}
