package protocol

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/chorus-im/chorus/membership"
)

// TestMemberIndexHeap: the group cache's member index is kept for every group as long as
// the client runs; for a 1000-member group it holds at most 20 bytes a member beside the
// state's own list (issue 16: the map it replaced took 53), and answers like the list.
func TestMemberIndexHeap(t *testing.T) {
	const n = 1000
	st := &membership.State{}
	for i := range n {
		st.Members = append(st.Members, fmt.Sprintf("0x04%0128x", i*7919%n))
	}
	before := heapInUse()
	idx := memberSet(st)
	per := float64(heapInUse()-before) / n
	gc := &groupCache{members: idx}
	for _, m := range st.Members {
		if !gc.isMember(m) {
			t.Fatalf("%s is a member", m)
		}
	}
	for _, m := range []string{"", "0x04", st.Members[0] + "0", st.Members[1][:20]} {
		if gc.isMember(m) {
			t.Fatalf("%q is not a member", m)
		}
	}
	if per > 20 {
		t.Errorf("the member index of a %d-member group holds %.1f B a member, want at most 20", n, per)
	}
	runtime.KeepAlive(idx)
	runtime.KeepAlive(st)
}

func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
