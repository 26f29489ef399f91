package protocol_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSyncKeyEventsFrameScratch: a Sync that brings several key blocks in one batch
// (one commit for all, their events emitted at its end) reuses the lent frame scratch
// for each block before the batch commits (framescratch.go). Nothing that outlives an
// envelope's nested transaction may refer to the frame: a copy of the receiver syncing
// with the scratch must end in the state, and emit the events, of a copy syncing
// without it — same state digest, same membership changes and texts in the same order.
func TestSyncKeyEventsFrameScratch(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 64}, 0)
	dir := t.TempDir()
	admin := tn.add("admin")
	rx := tn.addAt("rx", filepath.Join(dir, "rx.db"))
	tn.connect(admin, rx)
	var others []*peer
	for i := range 40 { // 42 slots: a key block frame of ≈ 6 KB, above largeFrame
		p := tn.add(fmt.Sprintf("m%d", i))
		tn.connect(admin, p)
		others = append(others, p)
	}
	ctx := context.Background()
	g, err := admin.c.CreateGroup(ctx, "scratch", "", append(ids(others...), rx.id)...)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, admin, g, "before")
	waitTexts(t, tn, g, []string{"before"}, rx)
	rx.stop()
	var texts []string
	for i, victim := range others[:4] {
		if err := admin.c.RemoveMembers(ctx, g, victim.id); err != nil {
			t.Fatal(err)
		}
		tn.settle(admin)
		texts = append(texts, fmt.Sprintf("after removal %d", i))
		mustSend(t, admin, g, texts[i])
	}
	tn.settle(admin)
	type run struct {
		c   *protocol.Client
		evs <-chan protocol.Event
	}
	var runs []run
	for _, name := range []string{"lent", "fresh"} {
		c, evs := openCopy(t, tn, filepath.Join(dir, "rx.db"), name, func(s *persistence.Store) storage.Store { return s })
		protocol.SetFrameScratch(c, name == "lent")
		runs = append(runs, run{c, evs})
	}
	var logs [2][]string
	for i, r := range runs {
		if err := r.c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for done := false; !done; {
			select {
			case ev := <-r.evs:
				switch ev := ev.(type) {
				case *protocol.MessageReceived:
					if ev.Message.Content.Type == protocol.ContentText {
						logs[i] = append(logs[i], "text "+ev.Message.Content.Text)
					} else {
						logs[i] = append(logs[i], fmt.Sprintf("message %+v", ev.Message.Content))
					}
				case *protocol.MembershipChanged:
					logs[i] = append(logs[i], fmt.Sprintf("membership %+v", *ev))
				}
			default:
				done = true
			}
		}
	}
	var got []string
	for _, l := range logs[0] {
		if s, ok := strings.CutPrefix(l, "text "); ok {
			got = append(got, s)
		}
	}
	if !slices.Equal(got, texts) {
		t.Fatalf("the lent copy read %q, want %q", got, texts)
	}
	if !slices.Equal(logs[0], logs[1]) {
		t.Errorf("events with the lent scratch differ from those without:\n%q\n%q", logs[0], logs[1])
	}
	if a, b := protocol.StateDigest(runs[0].c), protocol.StateDigest(runs[1].c); a != b {
		t.Error("Sync with the lent scratch ends in another state than without")
	}
	_, _, want := protocol.EpochInfo(admin.c, g)
	if _, _, got := protocol.EpochInfo(runs[0].c, g); got != want {
		t.Error("the lent copy is not on the admin's epoch after the Sync")
	}
}
