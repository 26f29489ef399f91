package protocol_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestFix30RemovedMemberKeepsNoSeed (fix30, attacker question): the seed of a key event
// applied superseded is kept for opening (keepSuperseded), from our slot of its block. A
// removed member r, holding the group's epoch keys from before its removal (E0) and a
// session with b, builds rekeys after it learnt its removal, each with a real slot for b
// (its seed opens and confirms: checked), signed by r and sealed under E0: prev {E0} (the
// frontier b superseded — the shape of a superseded event) and prev b's frontier now (the
// removal's event, an id r can name without holding its seed); each delivered twice.
// Asserted: b refuses each (r departed in the rekey's causal past: it applies nothing),
// its key schedule, meta and kept seeds stay byte-identical — the seed is kept only for an
// event b applied, after the checks every key block goes through.
func TestFix30RemovedMemberKeepsNoSeed(t *testing.T) {
	tn := newTestNet(t, memory.Config{Seed: 3001}, 0)
	a, b, r := tn.add("a"), tn.add("b"), tn.add("r")
	tn.connect(a, b, r)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "f30", "", b.id, r.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, r)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	topic := info.Topic
	live0 := protocol.LiveEpochsForTest(r.c, g) // E0's keys, kept by r
	_, f0, e0 := protocol.EpochInfo(r.c, g)
	must(t, a.c.RemoveMembers(ctx, g, r.id))
	tn.settle()
	tn.waitFor("r no member at b and r", func() bool {
		ib, err := b.c.Group(ctx, g)
		if err != nil || slices.Contains(ib.Members, r.id) {
			return false
		}
		ir, err := r.c.Group(ctx, g)
		return err != nil || !slices.Contains(ir.Members, r.id)
	})
	waitSameEpoch(tn, g, a, b)
	var ep0 epoch.Epoch
	for _, e := range live0 {
		if e.ID == e0 {
			ep0 = e
		}
	}
	if ep0.ID != e0 {
		t.Fatalf("setup: r's live epochs lack E0")
	}
	_, fr, _ := protocol.EpochInfo(r.c, g)
	_, fb, _ := protocol.EpochInfo(b.c, g)
	t.Logf("E0 frontier %s; r's now %s; b's %s", shortIDs(f0), shortIDs(fr), shortIDs(fb))
	for _, v := range []struct {
		name string
		prev []epoch.ID
	}{{"prev E0", f0}, {"prev b's frontier", fb}} {
		prev, err := epoch.NewFrontier(v.prev...)
		must(t, err)
		payload, block, err := protocol.SlottedRekeyForTest(r.c, g, prev, ep0, installationOf(t, b))
		must(t, err)
		if err := protocol.OpenSlotForTest(b.c, g, block); err != nil {
			t.Fatalf("%s: setup: b's slot of r's rekey does not open: %v", v.name, err)
		}
		sched, meta, err := protocol.KeysForTest(b.c, g)
		must(t, err)
		kept, _, _, _ := protocol.KeptForTest(b.c, g)
		_, allHeld, _ := protocol.HeldForTest(b.c, g, r.id)
		for i := 0; i < 2; i++ { // and its replay
			err := protocol.DispatchForTest(b.c, topic, payload)
			t.Logf("%s: r's rekey at b (%d): %v", v.name, i, err) // refused quietly or not: the state says
		}
		// As if the outer layer opened at b (b holds no E0 key any longer, or does): the
		// block alone through processKeyBlock, the one check of every path.
		liveB := protocol.LiveEpochsForTest(b.c, g)
		opens := protocol.OpenFrameForTest(liveB, g, topic, payload).Opened
		err = protocol.ProcessKeyBlockForTest(b.c, g, block)
		t.Logf("%s: r's payload opens at b: %v; its block processed alone: %v", v.name, opens, err)
		if err == nil {
			t.Errorf("%s: b's processKeyBlock took r's rekey after r's removal", v.name)
		}
		sched2, meta2, err := protocol.KeysForTest(b.c, g)
		must(t, err)
		kept2, _, _, _ := protocol.KeptForTest(b.c, g)
		_, allHeld2, _ := protocol.HeldForTest(b.c, g, r.id)
		if !bytes.Equal(sched, sched2) || !bytes.Equal(meta, meta2) {
			t.Errorf("%s: r's rekey changed b's key schedule or meta (%d→%d, %d→%d bytes)", v.name, len(sched), len(sched2), len(meta), len(meta2))
		}
		if !slices.Equal(kept, kept2) || allHeld != allHeld2 {
			t.Errorf("%s: r's rekey changed b's kept seeds (%d→%d) or held ids (%d→%d)", v.name, len(kept), len(kept2), allHeld, allHeld2)
		}
	}
	mustSend(t, a, g, "after r's rekeys")
	tn.settle()
	if !readWithin(tn, b, g, "after r's rekeys", 5*time.Second) {
		t.Errorf("b does not read a after r's rekeys")
	}
	if readWithin(tn, r, g, "after r's rekeys", time.Second) {
		t.Errorf("r reads a after its removal")
	}
}
