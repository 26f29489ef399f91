package protocol_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// Scenes shared by the durability tests of review 21 and 22 (a sender lease whose sync
// fails, a reader holding the checkpoint back, a power loss).

// durableScene: a (file store) and b, in groups g ("durable") and g2 ("other"), both on
// one epoch of each; a's chain of g2 in use ("warm" sent and read by b): its next seal
// there asks no sync.
func durableScene(t *testing.T, seed int64) (tn *testNet, a, b *peer, g, g2 protocol.GroupID) {
	t.Helper()
	tn = newEpochNet(t, memory.Config{Seed: seed}, 0)
	a = tn.addPersistent("a")
	b = tn.add("b")
	tn.connect(a, b)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "durable", "", b.id)
	must(t, err)
	g2, err = a.c.CreateGroup(ctx, "other", "", b.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b)
	waitSameEpoch(tn, g2, a, b)
	mustSend(t, a, g2, "warm") // a's chain of g2 in use: its next seal asks no sync
	tn.waitFor("b reads warm", func() bool { return b.texts(g2)["warm"] == 1 })
	return tn, a, b, g, g2
}

// powerLossResend replaces a's database by crash (a stopped; its WAL and shared memory
// files removed: what was not synced is gone), starts a again and has it send "m2" in g.
// Asserted: no (epoch, installation, iteration) sealed twice on g's topic (tp), and b
// reads m2 once. mode names the subtest in the messages.
func powerLossResend(t *testing.T, tn *testNet, a, b *peer, g protocol.GroupID, tp *tap, crash, mode string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(a.path + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	copyFile(t, crash, a.path)
	a.start(false)
	n := len(tp.all())
	mustSend(t, a, g, "m2")
	tn.waitFor("m2 published", func() bool { return len(tp.all()) > n })
	tn.settle(a, b)
	sealed := assertSealedOnce(t, b, g, tp, mode)
	t.Logf("%s: %d distinct messages sealed on the group topic; b read %v", mode, sealed, b.texts(g))
	if got := b.texts(g); got["m2"] != 1 {
		t.Errorf("%s: b read m2 %d times, want 1", mode, got["m2"])
	}
}

// assertSealedOnce asserts that no (epoch, installation, iteration) is sealed twice among the
// v2 messages of g on tp (one message key, one nonce, two plaintexts), as r (a member of g)
// opens their frames, and returns how many distinct messages it saw. mode prefixes the
// messages.
func assertSealedOnce(t *testing.T, r *peer, g protocol.GroupID, tp *tap, mode string) int {
	t.Helper()
	sealed := map[string]string{} // epoch || installation || iteration -> v2 message
	for _, e := range tp.all() {
		msg := protocol.GroupFrameMessage(r.c, g, e.Payload)
		if msg == nil {
			continue
		}
		key, _, _ := protocol.GroupFrameInfo(r.c, g, e.Payload)
		h, err := epoch.ParseMessageHeader(msg)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%x/%x/%d", key, h.Installation, h.Iteration)
		if prev, ok := sealed[k]; ok && prev != string(msg) {
			t.Errorf("%s: epoch %x installation %x iteration %d sealed twice (one message key, one nonce, two plaintexts)", mode, key, h.Installation[:4], h.Iteration)
		}
		sealed[k] = string(msg)
		t.Logf("%s: sealed %s", mode, k)
	}
	return len(sealed)
}
