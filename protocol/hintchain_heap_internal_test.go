package protocol

import (
	"runtime"
	"testing"
)

// TestInboxHintsHeap: a client keeps the expected inbox hints of every session for as long
// as it runs (an admin of a 1000-member group has a session with each member's
// installation, ~150 hints each). They take at most 64 bytes of heap a hint (issue 16: a
// map of 16-byte hints to session and index beside each session's list of slots took ~100),
// and every expected hint is found, with its session and index, and no other.
func TestInboxHintsHeap(t *testing.T) {
	const sessions = 400
	c := benchClient()
	chains := make([]*hintChain, sessions)
	before := heapInUse()
	for i := range chains {
		h := newHintChain([32]byte{byte(i), byte(i >> 8), 7}, false)
		h.received(uint64(i % 50)) // some sessions skipped a few frames
		chains[i] = h
		c.setInboxHints(int64(i+1), h, [16]byte{})
	}
	used := heapInUse() - before
	hints := 0
	for i, h := range chains {
		h.expected(func(n uint64) {
			hints++
			ref, ok := findHintForTest(c, hintAt(h.recvKey, n))
			if !ok || ref.sid != int64(i+1) || ref.n != n {
				t.Fatalf("session %d hint %d: found %v %+v", i+1, n, ok, ref)
			}
		})
		if _, ok := findHintForTest(c, hintAt(h.recvKey, h.recvNext+MaxHintGap+HintAnchorStride)); ok {
			t.Fatalf("session %d: a hint beyond the expected set is found", i+1)
		}
	}
	per := float64(used) / float64(hints)
	t.Logf("%d sessions, %d hints, %.1f B a hint", sessions, hints, per)
	if per > 64 {
		t.Errorf("the expected inbox hints take %.1f B of heap a hint, want at most 64", per)
	}
	runtime.KeepAlive(c)
}

func findHintForTest(c *Client, hint [16]byte) (hintRef, bool) {
	return c.inbox.find(hint)
}
