package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/wire"
)

// TestTakeOpenedAhead: a frame opened ahead of a batch is handed out once, only for the
// group and topic it was opened for, and only while its epoch is still live (a key event
// processed in between may have retired it: the caller then opens the payload itself,
// with the live epochs, as without the work ahead).
func TestTakeOpenedAhead(t *testing.T) {
	e1 := epoch.Epoch{ID: epoch.ID{1}, Secret: [32]byte{1}}
	e2 := epoch.Epoch{ID: epoch.ID{2}, Secret: [32]byte{2}}
	g := &groupCache{id: GroupID{7}, topic: "t", live: []epoch.Epoch{e1, e2}}
	other := &groupCache{id: GroupID{8}, topic: "t", live: []epoch.Epoch{e1, e2}}
	f := &wire.FrameV2{}
	p := []byte("\x02nonce of twenty-four bytes, then the ciphertext")
	k, _ := openedKey(p)
	fill := func() *hotPath {
		return &hotPath{opened: map[[outerNonceSize]byte]openedAhead{k: {payload: p, group: g.id, topic: "t", f: f, ep: e1}}}
	}

	h := fill()
	if o, ok := h.takeOpened(g, "t", p); !ok || o.f != f || o.ep != e1 {
		t.Fatalf("opened frame not handed out: %v %+v", ok, o)
	}
	if _, ok := h.takeOpened(g, "t", p); ok {
		t.Fatal("an opened frame handed out twice")
	}
	if _, ok := fill().takeOpened(other, "t", p); ok {
		t.Fatal("a frame opened for one group handed out for another")
	}
	if _, ok := fill().takeOpened(g, "u", p); ok {
		t.Fatal("a frame opened on one topic handed out for another")
	}
	if _, ok := fill().takeOpened(g, "t", []byte("q")); ok {
		t.Fatal("a frame handed out for another payload")
	}
	same := append(p[:1+outerNonceSize:1+outerNonceSize], "another ciphertext"...)
	if _, ok := fill().takeOpened(g, "t", same); ok {
		t.Fatal("a frame handed out for another payload with the same nonce")
	}
	retired := &groupCache{id: g.id, topic: "t", live: []epoch.Epoch{e2}}
	h = fill()
	if _, ok := h.takeOpened(retired, "t", p); ok {
		t.Fatal("a frame opened under an epoch no longer live handed out")
	}
	forged := &groupCache{id: g.id, topic: "t", live: []epoch.Epoch{{ID: e1.ID, Secret: [32]byte{9}}}}
	if _, ok := fill().takeOpened(forged, "t", p); ok {
		t.Fatal("a frame handed out under another secret with the same epoch id")
	}
}
