package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/epoch"
)

// TestEndVerifyClearsAheadKeys: the chain keys the work ahead derived (each cursor's,
// those of the iterations it stepped over, and those of the messages opened ahead and
// not taken, with their plaintext) are cleared when the Sync ends, not left in the heap:
// a cursor left behind its chain, or a stepped-over key, derives the message keys of
// iterations already read (review4; the outer keys were cleared, these were not).
func TestEndVerifyClearsAheadKeys(t *testing.T) {
	c := &Client{}
	cur := &aheadCursor{chain: [epoch.IDSize]byte{1}, next: 3, keys: map[uint32][epoch.IDSize]byte{1: {2}, 2: {3}}}
	cs := &aheadCursors{m: map[chainKey]*aheadCursor{{}: cur}, committed: map[chainKey][]byte{{}: {4, 5}}}
	inner := &epoch.Opened{Before: [epoch.IDSize]byte{6}, After: [epoch.IDSize]byte{7}, Plaintext: []byte("secret")}
	pt := inner.Plaintext
	c.hot.cursors, c.hot.verifying = cs, true
	c.hot.opened = map[[outerNonceSize]byte]openedAhead{{}: {inner: inner}}
	c.endVerify()
	if cur.chain != ([epoch.IDSize]byte{}) {
		t.Error("a cursor's chain key kept after the Sync")
	}
	for i, k := range cur.keys {
		if k != ([epoch.IDSize]byte{}) {
			t.Errorf("the chain key of stepped-over iteration %d kept after the Sync", i)
		}
	}
	for _, st := range cs.committed {
		for _, b := range st {
			if b != 0 {
				t.Error("a receiver chain's state copied for the work ahead kept after the Sync")
				break
			}
		}
	}
	if inner.Before != ([epoch.IDSize]byte{}) || inner.After != ([epoch.IDSize]byte{}) {
		t.Error("the chain keys of a message opened ahead and not taken kept after the Sync")
	}
	if string(pt) == "secret" {
		t.Error("the plaintext of a message opened ahead and not taken kept after the Sync")
	}

	// A message opened ahead under an epoch retired since is dropped, cleared.
	e1, e2 := epoch.Epoch{ID: epoch.ID{1}}, epoch.Epoch{ID: epoch.ID{2}}
	p := []byte("\x02nonce of twenty-four bytes, then the ciphertext")
	k, _ := openedKey(p)
	inner = &epoch.Opened{Before: [epoch.IDSize]byte{6}, After: [epoch.IDSize]byte{7}, Plaintext: []byte("secret")}
	pt = inner.Plaintext
	h := &hotPath{opened: map[[outerNonceSize]byte]openedAhead{k: {payload: p, group: GroupID{7}, topic: "t", ep: e1, inner: inner}}}
	if _, ok := h.takeOpened(&groupCache{id: GroupID{7}, live: []epoch.Epoch{e2}}, "t", p); ok {
		t.Fatal("a frame opened under a retired epoch handed out")
	}
	if inner.Before != ([epoch.IDSize]byte{}) || inner.After != ([epoch.IDSize]byte{}) || string(pt) == "secret" {
		t.Error("a message opened ahead under a retired epoch dropped uncleared")
	}
}
