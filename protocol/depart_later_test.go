package protocol_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestDepartureWithKeyBlock: a receiver that records a removal's departure with the
// removal's key block (one write of the bookkeeping) stores the same key schedule and
// bookkeeping as one that records it at once, removal after removal; a transaction that
// fails stores neither, and the same publish applied afterwards gives the same again. A
// last removal's block still gives the removed installation a slot: each receiver then
// holds the departure, or has healed it already (the designated installation).
func TestDepartureWithKeyBlock(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 93}, 0)
	admin, rx, now := tn.add("admin"), tn.add("rx"), tn.add("now")
	tn.connect(admin, rx, now)
	var others []*peer
	for _, name := range []string{"m0", "m1", "m2", "m3"} {
		p := tn.add(name)
		tn.connect(admin, p)
		p.stop()
		others = append(others, p)
	}
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "later", "", append(ids(others...), rx.id, now.id)...)
	must(t, err)
	tn.settle(admin, rx, now)
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	members, err := protocol.MemberInstallationsForTest(admin.c, g)
	must(t, err)
	tp := newTap(t, tn.net, info.Topic)
	rx.pause()
	now.pause()
	protocol.SetDepartNowForTest(now.c, true)
	seen := len(tp.all())
	keys := func(p *peer) ([]byte, []byte) {
		t.Helper()
		s, m, err := protocol.KeysForTest(p.c, g)
		must(t, err)
		return s, m
	}
	for i, victim := range others {
		last := i == len(others)-1
		if last { // the block still gives the removed installation a slot
			var removed []storage.InstallationRecord
			for _, in := range members {
				if in.Account == victim.id {
					rec, err := protocol.InstallationForTest(admin.c, in.ID)
					must(t, err)
					removed = append(removed, *rec)
				}
			}
			protocol.SetSlotTargetsHookForTest(admin.c, func(targets []storage.InstallationRecord) []storage.InstallationRecord {
				return append(targets, removed...)
			})
		}
		must(t, admin.c.RemoveMembers(ctx, g, victim.id))
		protocol.SetSlotTargetsHookForTest(admin.c, nil)
		_, _, removal := protocol.EpochInfo(admin.c, g) // before anyone heals it
		tn.waitFor("the removal's publish", func() bool { return len(tp.all()) > seen })
		time.Sleep(20 * time.Millisecond)
		envs := tp.all()[seen:]
		seen += len(envs)
		s0, m0 := keys(rx)
		protocol.SetCommitHookForTest(rx.c, func() error { return errors.New("injected commit failure") })
		for _, e := range envs {
			protocol.Inject(rx.c, e.Topic, e.Payload)
		}
		protocol.SetCommitHookForTest(rx.c, nil)
		if s1, m1 := keys(rx); !bytes.Equal(s0, s1) || !bytes.Equal(m0, m1) {
			t.Fatalf("removal %d: a failed transaction changed the stored keys", i)
		}
		for _, p := range []*peer{rx, now} {
			for _, e := range envs {
				protocol.Inject(p.c, e.Topic, e.Payload)
			}
		}
		if last {
			for _, p := range []*peer{rx, now} {
				_, m := keys(p)
				n, err := protocol.UncoveredInMetaForTest(m)
				must(t, err)
				if _, _, cur := protocol.EpochInfo(p.c, g); cur == removal && n == 0 {
					t.Fatalf("%s: a block giving the removed installation a slot left no departure recorded (bookkeeping %d B)", p.name, len(m))
				}
			}
			continue
		}
		sl, ml := keys(rx)
		sn, mn := keys(now)
		if !bytes.Equal(sl, sn) || !bytes.Equal(ml, mn) {
			t.Fatalf("removal %d: with the key block:\n%.300s\nat once:\n%.300s", i, ml, mn)
		}
	}
}
