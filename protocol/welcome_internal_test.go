package protocol

import (
	"bytes"
	"testing"

	"github.com/chorus-im/chorus/protocol/wire"
)

func TestSplitWelcome(t *testing.T) {
	w := &wire.Welcome{ChatID: "c", Membership: bytes.Repeat([]byte{1}, 50000)}
	var lists, dists [][]byte
	for i := 0; i < 600; i++ {
		lists = append(lists, bytes.Repeat([]byte{byte(i)}, 420))
		dists = append(dists, bytes.Repeat([]byte{byte(i)}, 250))
	}
	parts, err := splitWelcome(w, lists, dists, welcomeBudget)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var gotLists, gotDists int
	for i, p := range parts {
		if len(p) > welcomeBudget {
			t.Fatalf("part %d: %d bytes", i, len(p))
		}
		pw, err := wire.ParseWelcome(p)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 0) != (len(pw.Membership) > 0) {
			t.Fatalf("part %d: membership %d", i, len(pw.Membership))
		}
		gotLists += len(pw.DeviceLists)
		gotDists += len(pw.Distributions)
	}
	if gotLists != 600 || gotDists != 600 {
		t.Fatalf("device lists %d dists %d", gotLists, gotDists)
	}
	one, _ := splitWelcome(&wire.Welcome{ChatID: "c", Membership: []byte{1}}, lists[:2], dists[:2], welcomeBudget)
	if len(one) != 1 {
		t.Fatal("small welcome split")
	}
}

// TestSplitWelcomeV2LargeLog: an event log above the cards budget (the creation log of
// ~1000 members is ~135 KB) travels alone in the first part, up to logBudget; the cards
// follow in parts within budget; a log above logBudget is refused.
func TestSplitWelcomeV2LargeLog(t *testing.T) {
	w := &wire.WelcomeV2{ChatID: "c", Join: []byte{2}, Membership: bytes.Repeat([]byte{1}, welcomeBudget+1000)}
	var cards [][]byte
	for i := 0; i < 300; i++ {
		cards = append(cards, bytes.Repeat([]byte{byte(i)}, 502))
	}
	logBudget := welcomeBudget + 8000
	parts, err := splitWelcomeV2(w, cards, welcomeBudget, logBudget)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for i, p := range parts {
		pw, err := wire.ParseWelcomeV2(p)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if i == 0 && (len(pw.DeviceLists) != 0 || len(p) > logBudget || !bytes.Equal(pw.Membership, w.Membership)) {
			t.Fatalf("first part: %d bytes, %d cards", len(p), len(pw.DeviceLists))
		}
		if i > 0 && (len(p) > welcomeBudget || pw.Join != nil) {
			t.Fatalf("part %d: %d bytes", i, len(p))
		}
		got += len(pw.DeviceLists)
	}
	if got != len(cards) {
		t.Fatalf("%d cards, want %d", got, len(cards))
	}
	w.Membership = bytes.Repeat([]byte{1}, logBudget)
	if _, err := splitWelcomeV2(w, cards, welcomeBudget, logBudget); err == nil {
		t.Fatal("log above logBudget accepted")
	}
}
