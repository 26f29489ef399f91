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
