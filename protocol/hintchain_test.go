package protocol

import (
	"bytes"
	"runtime"
	"syscall"
	"testing"
)

// TestHintChainWindow: the expected set is the skipped indices, the next HintWindow and
// the anchors below recvNext + MaxHintGap; expects agrees with expected; received keeps
// at most MaxSkippedHints skipped indices (the newest).
func TestHintChainWindow(t *testing.T) {
	h := newHintChain([32]byte{1}, true)
	check := func() {
		t.Helper()
		got := map[uint64]bool{}
		h.expected(func(n uint64) {
			if got[n] {
				t.Fatalf("index %d twice", n)
			}
			got[n] = true
		})
		want := len(h.skipped) + HintWindow
		for n := h.recvNext + HintWindow; n < h.recvNext+MaxHintGap; n++ {
			if n%HintAnchorStride == 0 {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("%d expected, want %d", len(got), want)
		}
		for n := uint64(0); n < h.recvNext+2*MaxHintGap; n++ {
			if h.expects(n) != got[n] {
				t.Fatalf("expects(%d) = %v", n, !got[n])
			}
		}
	}
	check()
	h.received(3)
	if h.recvNext != 4 || len(h.skipped) != 3 {
		t.Fatalf("after 3: next %d skipped %v", h.recvNext, h.skipped)
	}
	check()
	h.received(1)
	if h.expects(1) || !h.expects(0) || len(h.skipped) != 2 {
		t.Fatal("received skipped index")
	}
	h.received(4 + 500) // a jump ahead: more than MaxSkippedHints skipped
	if len(h.skipped) != MaxSkippedHints || h.skipped[0] != 4+500-MaxSkippedHints || h.skipped[MaxSkippedHints-1] != 503 {
		t.Fatalf("skipped %d from %d", len(h.skipped), h.skipped[0])
	}
	check()
	b := h.marshal()
	h2, err := parseHintChain(b)
	if err != nil || !bytes.Equal(h2.marshal(), b) {
		t.Fatal("round trip", err)
	}
}

// TestHintChainDirections: the initiator's sending hints are the responder's receiving
// hints, and every index gives a different hint.
func TestHintChainDirections(t *testing.T) {
	i, r := newHintChain([32]byte{7}, true), newHintChain([32]byte{7}, false)
	if i.sendKey != r.recvKey || i.recvKey != r.sendKey || i.sendKey == i.recvKey {
		t.Fatal("directions")
	}
	seen := map[[16]byte]bool{}
	for n := range uint64(1000) {
		h := hintAt(i.sendKey, n)
		if seen[h] {
			t.Fatal("hint repeats")
		}
		seen[h] = true
	}
}

// FuzzHintChain: parseHintChain never panics and accepts only marshal's output.
func FuzzHintChain(f *testing.F) {
	h := newHintChain([32]byte{1}, true)
	h.received(5)
	f.Add(h.marshal())
	f.Add([]byte{})
	f.Add(newHintChain([32]byte{}, false).marshal())
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := parseHintChain(in)
		if err != nil {
			if h != nil {
				t.Fatal("value with error")
			}
			return
		}
		if !bytes.Equal(h.marshal(), in) {
			t.Fatal("decode→encode differs")
		}
		h.expected(func(uint64) {})
	})
}

func benchClient() *Client {
	return &Client{inbox: newInboxHints()}
}

// BenchmarkHintReceive: the receiver's cost of one frame's hint: the lookup, and moving
// the session's expected set (one HMAC for the index entering the window, one per anchor).
func BenchmarkHintReceive(b *testing.B) {
	c := benchClient()
	h := newHintChain([32]byte{3}, false)
	c.setInboxHints(1, h, [16]byte{})
	s := newHintChain([32]byte{3}, true)
	b.ResetTimer()
	for range b.N {
		hint := hintAt(s.sendKey, s.sendNext)
		s.sendNext++
		ref, ok := c.inbox.find(hint)
		if !ok {
			b.Fatal("not found")
		}
		h.received(ref.n)
		c.setInboxHints(1, h, [16]byte{})
	}
}

// BenchmarkHintNewSession: registering a new session's expected hints (at start for every
// stored session, and for each new session); reports the heap per session.
func BenchmarkHintNewSession(b *testing.B) {
	c := benchClient()
	h := newHintChain([32]byte{4}, false)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range b.N {
		h.recvKey[0], h.recvKey[1], h.recvKey[2] = byte(i), byte(i>>8), byte(i>>16)
		c.setInboxHints(int64(i), h, [16]byte{})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heapB/session")
	b.ReportMetric(float64(c.inbox.count())/float64(b.N), "hints/session")
}

// BenchmarkHintLookup is the receiver's CPU per inbound session frame for its hint, with
// per-message hints (chain: the lookup, then moving the session's expected set) against
// a constant hint per session (constant: the lookup alone, what sessions had before issue
// 19 item 3). The senders' hints are computed before the timer (sender cost, not the
// receiver's). Also reported as process CPU per frame (cpu-ns/op), which the load of a
// shared machine inflates less than wall time. go test -run X -bench BenchmarkHintLookup ./protocol/
func BenchmarkHintLookup(b *testing.B) {
	cpu := func() int64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	b.Run("chain", func(b *testing.B) {
		c := benchClient()
		h := newHintChain([32]byte{3}, false)
		c.setInboxHints(1, h, [16]byte{})
		s := newHintChain([32]byte{3}, true)
		hints := make([][16]byte, b.N)
		for i := range hints {
			hints[i] = hintAt(s.sendKey, uint64(i))
		}
		b.ResetTimer()
		c0 := cpu()
		for i := range b.N {
			ref, ok := c.inbox.find(hints[i])
			if !ok {
				b.Fatal("not found")
			}
			h.received(ref.n)
			c.setInboxHints(1, h, [16]byte{})
		}
		b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
	})
	b.Run("constant", func(b *testing.B) {
		c := benchClient()
		hint := [16]byte{9}
		c.setInboxHints(1, nil, hint)
		b.ResetTimer()
		c0 := cpu()
		for range b.N {
			if !c.inbox.has(hint) {
				b.Fatal("not found")
			}
		}
		b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
	})
}
