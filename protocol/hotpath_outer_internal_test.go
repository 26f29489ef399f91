package protocol

import (
	"crypto/rand"
	"testing"

	"github.com/chorus-im/chorus/epoch"
)

// TestOuterSealerFollowsSendEpoch: the outer sealer a send reuses is the one of the
// epoch it seals under — nil for any other epoch of the group (another id, or the same id
// with another secret), replaced with the send epoch — and what it seals opens under that
// epoch's outer key and no other.
func TestOuterSealerFollowsSendEpoch(t *testing.T) {
	var h hotPath
	var g GroupID
	g[0] = 1
	e1 := epoch.Epoch{ID: epoch.ID{1}, Secret: [epoch.IDSize]byte{11}}
	e2 := epoch.Epoch{ID: epoch.ID{2}, Secret: [epoch.IDSize]byte{22}}
	if h.outerSealer(g, &e1) != nil {
		t.Fatal("a sealer without a send epoch")
	}
	h.setSendEpoch(g, []byte("s1"), []byte("m1"), e1)
	s1 := h.outerSealer(g, &e1)
	if s1 == nil || h.outerSealer(g, &e1) != s1 {
		t.Fatal("the send epoch's sealer is not made once and kept")
	}
	forged := e1
	forged.Secret[0] ^= 1
	if h.outerSealer(g, &e2) != nil || h.outerSealer(g, &forged) != nil {
		t.Fatal("a sealer for an epoch that is not the send epoch")
	}
	payload, err := s1.Seal(rand.Reader, "topic", []byte("frame"))
	if err != nil {
		t.Fatal(err)
	}
	if f, ep, err := epoch.OpenOuter([]epoch.Epoch{e1}, "topic", payload); err != nil || string(f) != "frame" || ep.ID != e1.ID {
		t.Fatalf("sealed payload does not open under the send epoch: %v", err)
	}
	if _, _, err := epoch.OpenOuter([]epoch.Epoch{e2, forged}, "topic", payload); err == nil {
		t.Fatal("sealed payload opens under another epoch")
	}
	h.setSendEpoch(g, []byte("s2"), []byte("m2"), e2)
	if h.outerSealer(g, &e1) != nil {
		t.Fatal("the previous send epoch's sealer kept after the epoch changed")
	}
	if s2 := h.outerSealer(g, &e2); s2 == nil || s2 == s1 {
		t.Fatal("no new sealer for the new send epoch")
	}
}
