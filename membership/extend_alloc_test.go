package membership_test

import (
	"runtime"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	m "github.com/chorus-im/chorus/membership"
)

// TestCausalExtendRemovalAllocs: a member's removal from a 1000-member causal group, as
// a receiver applies it (Update's shortcut, extendCausal), builds the next state with one
// new member list: the state's list copied once without the removed member (issue 13: it
// was copied twice, once for the rules' view of the state and once for the result).
func TestCausalExtendRemovalAllocs(t *testing.T) {
	const n = 1000
	members := make([]string, n)
	for i := range members {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		members[i] = m.PublicKeyString(&k.PublicKey)
	}
	d := newDAG(t, "extend-allocs")
	d.add("add", "alice", m.Event{Type: m.MembersAdded, Clock: 101, Members: m.MembersOf(members...)}, "genesis")
	st := d.derive()
	rm := d.add("rm", "alice", m.Event{Type: m.MemberRemoved, Clock: 102, Members: m.MembersOf([]string{members[n/2]}...)}, "add")
	msg := encodeMsg(t, d.chat, rm)
	// The parse of the message alone (what Update allocates beside the state).
	parse := allocated(func() {
		if _, err := m.ParseMessage(msg); err != nil {
			t.Fatal(err)
		}
	})
	var next m.State
	total := allocated(func() {
		var err error
		if next, _, err = m.Update(&st, msg, actors["alice"].pub, farFuture, m.ChorusRules()); err != nil {
			t.Fatal(err)
		}
	})
	if next.Members.Len() != n || next.IsMember(members[n/2]) || !st.IsMember(members[n/2]) {
		t.Fatalf("removal not applied as expected: %d members", next.Members.Len())
	}
	list := uint64(st.Members.Len()) * 16    // one member list (string headers)
	events := uint64(len(st.Events)+1) * 256 // the next state's event list (Event is 256 B)
	got := total - parse
	if limit := list + list/2 + events + 4096; got > limit {
		t.Errorf("Update of a removal from %d members allocated %d B beside its parse (%d B), want at most %d (one member list %d B, events %d B)",
			n, got, parse, limit, list, events)
	}
	t.Logf("Update allocated %d B beside its parse (%d B); one member list is %d B", got, parse, list)
}

// allocated returns the bytes f allocates (the least of 5 runs).
func allocated(f func()) uint64 {
	best := ^uint64(0)
	for range 5 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		best = min(best, b.TotalAlloc-a.TotalAlloc)
	}
	return best
}
