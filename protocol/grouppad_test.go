package protocol_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestGroupPadConstants ties wire's padding constants to the layers they describe.
func TestGroupPadConstants(t *testing.T) {
	if wire.GroupPadCap != transport.MaxPayload || wire.GroupOuterOverhead != epoch.OuterOverhead {
		t.Fatalf("GroupPadCap %d (MaxPayload %d), GroupOuterOverhead %d (OuterOverhead %d)",
			wire.GroupPadCap, transport.MaxPayload, wire.GroupOuterOverhead, epoch.OuterOverhead)
	}
}

// TestGroupFramePadded (issue 19 item 3, key schedule v2): group-topic publishes are
// padded to buckets. Texts of 10 and 90 bytes make publishes of one size; a rekey in a
// group of 3 installations and one in a group of 4 make publishes of one size; a 100-byte
// text in steady state (five causal-history entries) is one publish of at most 400 bytes.
func TestGroupFramePadded(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 31}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, d)
	ctx := context.Background()
	g3, err := a.c.CreateGroup(ctx, "three", "", b.id, c.id)
	must(t, err)
	g4, err := a.c.CreateGroup(ctx, "four", "", b.id, c.id, d.id)
	must(t, err)
	tn.settle()
	for i := range protocol.HistoryLength + 1 { // steady state: five history entries
		p := []*peer{a, b, c}[i%3]
		mustSend(t, p, g3, fmt.Sprint("warm-up ", i))
		mustSend(t, p, g4, fmt.Sprint("warm-up ", i))
		tn.settle()
	}
	_, short := sendCost(t, tn, a, g3, strings.Repeat("s", 10))
	_, long := sendCost(t, tn, a, g3, strings.Repeat("l", 90))
	if short != long {
		t.Errorf("10-byte text: %d bytes, 90-byte text: %d bytes", short, long)
	}
	pubs, hundred := sendCost(t, tn, a, g3, strings.Repeat("h", 100))
	if pubs != 1 || hundred > 400 {
		t.Errorf("100-byte text: %d publishes, %d bytes (want 1, ≤ 400)", pubs, hundred)
	}
	tn.settle()
	rekey := func(g protocol.GroupID) int64 {
		before := tn.net.Stats()
		must(t, a.c.Rekey(ctx, g))
		after := tn.net.Stats()
		if p := after.Publishes - before.Publishes; p != 1 {
			t.Fatalf("rekey: %d publishes", p)
		}
		return after.Bytes - before.Bytes
	}
	k3, k4 := rekey(g3), rekey(g4)
	if k3 != k4 {
		t.Errorf("rekey publish: %d bytes with 3 installations, %d with 4", k3, k4)
	}
	tn.settle()
	waitTexts(t, tn, g3, []string{strings.Repeat("h", 100)}, b, c)
	mustSend(t, b, g4, "after the rekey")
	waitTexts(t, tn, g4, []string{"after the rekey"}, a, c, d)
	t.Logf("v2 publishes: 10/90-byte text %d/%d B, 100-byte text %d B, rekey with 3/4 installations %d/%d B", short, long, hundred, k3, k4)
}

// TestMissingReportedV2 is TestMissingReported on key schedule v2: the short
// causal-history entries of v2 messages still let R1 report a lost message (by history)
// besides the iteration gap, attributed to its sender.
func TestMissingReportedV2(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 17, HistoryLimit: -1}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, c)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id)
	must(t, err)
	tn.settle()
	mustSend(t, b, g, "b0")
	waitTexts(t, tn, g, []string{"b0"}, a, c)
	tn.net.SetOffline(c.name, true)
	for i := 1; i <= 3; i++ {
		mustSend(t, b, g, fmt.Sprintf("b%d", i))
	}
	waitTexts(t, tn, g, []string{"b1", "b2", "b3"}, a) // published while c was offline
	tn.net.SetOffline(c.name, false)
	mustSend(t, b, g, "b4")
	waitTexts(t, tn, g, []string{"b4"}, c)
	_ = c.c.Sync(ctx) // history unavailable: reports what is missing
	missingReports(t, c, b.id)
}

// v2Unpadded is the payload size a v2 group message of an n-byte text would have
// without padding in steady state (five history entries): outer layer, frame, v2
// message (header 21, tag 16, signature 64) and plaintext, from the encoders.
func v2Unpadded(t *testing.T, n int) int {
	pt, err := (&wire.GroupPlaintextV2{Type: wire.ContentText, Body: make([]byte, n),
		History: make([][wire.ShortEntrySize]byte, protocol.HistoryLength)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return wire.GroupOuterOverhead + 2 + 4 + 21 + len(pt) + 16 + 64
}

// TestGroupPaddingCost measures what padding costs on v2 group messages: texts of 0 to
// 1000 bytes (every 10th length through the engine, checked against the encoders; every
// length by the encoders), and the payload of a rekey by number of installations (spec ›
// Key schedule v2 › Padding). go test -run TestGroupPaddingCost -v ./protocol/
func TestGroupPaddingCost(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 37}, 2)
	a, b := tn.peers[0], tn.peers[1]
	tn.connect(a, b)
	g, err := a.c.CreateGroup(context.Background(), "cost", "", b.id)
	must(t, err)
	tn.settle()
	for i := range protocol.HistoryLength {
		mustSend(t, []*peer{a, b}[i%2], g, fmt.Sprint("warm-up ", i))
		tn.settle()
	}
	for n := 0; n <= 1000; n += 10 {
		_, got := sendCost(t, tn, a, g, strings.Repeat("x", n))
		if want := wire.GroupBucket(v2Unpadded(t, n), false); got != int64(want) {
			t.Fatalf("%d-byte text: %d bytes published, want %d", n, got, want)
		}
	}
	var plain, padded int
	buckets := map[int]int{}
	for n := 0; n <= 1000; n++ {
		u := v2Unpadded(t, n)
		p := wire.GroupBucket(u, false)
		plain += u
		padded += p
		buckets[p]++
	}
	const count = 1001
	t.Logf("v2 message, text 0–1000 B (uniform): mean %.0f B unpadded, %.0f B padded: +%.0f B (+%.1f %%); buckets used %v",
		float64(plain)/count, float64(padded)/count, float64(padded-plain)/count, 100*float64(padded-plain)/float64(plain), buckets)
	for _, n := range []int{0, 100, 133, 200, 500, 1000} {
		u := v2Unpadded(t, n)
		t.Logf("  text %4d B: %4d B unpadded -> %4d B", n, u, wire.GroupBucket(u, false))
	}
	// Rekey (one prev id, the confirmation, the 64-byte signature, session slots of 110 B):
	// payload by installations of the group.
	for _, k := range []int{2, 4, 8, 9, 17, 18, 35, 36, 100, 1000} {
		u := wire.GroupOuterOverhead + 2 + 4 + 75 + 32 + 32 + 64 + 110*(k-1)
		t.Logf("  rekey, %4d installations: %6d B unpadded -> %6d B", k, u, wire.GroupBucket(u, true))
	}
}
