package protocol

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// TestReview11RekeyHeadsHoldDeparture (review 11): a rekey names at most epoch.MaxFrontier
// (32) membership heads, the smallest ids (rekeyHeads), while a causal state may hold any
// number of heads. A departing account x that publishes, before its leave L (or
// concurrently with its removal), 32 events naming the same old parents whose ids it
// grinds below L's (about 64 tries) leaves the members on 33 heads; the heal that follows
// L then names x's 32 events and not L, so a rekey of x's naming the heal as prev has no
// departure in its causal past (departedIn) and every member applies it: the review 8
// takeover (TestReview8LeaverTakesOverEpoch) again. The test builds that state (creation,
// L, 32 events of x with smaller ids, every one a head) and asserts that the heads a rekey
// names hold L in their causal past, as the state's heads do.
func TestReview11RekeyHeadsHoldDeparture(t *testing.T) {
	create := withPayload([]byte("create"), membership.Event{ChatID: "c", Type: membership.ChatCreated, From: "admin"})
	cid := create.ID()
	leave := withPayload([]byte("leave"), membership.Event{ChatID: "c", Type: membership.MemberRemoved, From: "x", Members: membership.MembersOf("x"),
		Parents: []membership.EventID{cid}})
	lid := leave.ID()
	events := []membership.Event{create, leave}
	heads := []membership.EventID{lid}
	tries := 0
	for len(heads) < epoch.MaxFrontier+1 {
		tries++
		ev := withPayload([]byte(fmt.Sprintf("name %d", tries)), membership.Event{ChatID: "c", Type: membership.NameChanged, From: "x", Name: "n",
			Parents: []membership.EventID{cid}})
		if id := ev.ID(); bytes.Compare(id[:], lid[:]) < 0 {
			events, heads = append(events, ev), append(heads, id)
		}
	}
	slices.SortFunc(heads, func(a, b membership.EventID) int { return bytes.Compare(a[:], b[:]) })
	st := &membership.State{Version: membership.RulesCausal, Heads: heads, Events: events}
	lookup := func(id epoch.ID) (*membership.Event, bool) {
		for i := range st.Events {
			if epoch.ID(st.Events[i].ID()) == id {
				return &st.Events[i], true
			}
		}
		return nil, false
	}
	if !pastHolds(lookup, st.Heads, []epoch.ID{epoch.ID(lid)})[epoch.ID(lid)] {
		t.Fatal("precondition: the state's heads do not hold the leave")
	}
	named := rekeyHeads(st)
	parents := make([]membership.EventID, len(named))
	for i, h := range named {
		parents[i] = membership.EventID(h)
	}
	if !pastHolds(lookup, parents, []epoch.ID{epoch.ID(lid)})[epoch.ID(lid)] {
		t.Errorf("a rekey authored on %d heads names %d, whose causal past does not hold x's leave (%d events ground, %d tries)",
			len(st.Heads), len(named), len(heads)-1, tries)
	}
}

// BenchmarkReview11DepartedWalk (review 11, cost): departedIn's targets are every removal
// and every add of the author account, and pastHolds stops only once all are found, so a
// departed author's rekey is walked down to the author's first add (near the creation),
// whatever its heads: one walk of the whole kept log per departed rekey (a refused one is
// not recorded: each replay walks again). A linear log of n events, the removal on top.
func BenchmarkReview11DepartedWalk(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			events := make([]membership.Event, n)
			index := make(map[epoch.ID]int, n)
			var parent []membership.EventID
			for i := range events {
				typ := membership.NameChanged
				switch i {
				case 1:
					typ = membership.MembersAdded
				case n - 1:
					typ = membership.MemberRemoved
				}
				events[i] = withPayload([]byte(fmt.Sprintf("ev %d", i)), membership.Event{ChatID: "c", Type: typ, From: "admin", Members: membership.MembersOf("x"),
					Parents: parent})
				id := events[i].ID()
				index[epoch.ID(id)] = i
				parent = []membership.EventID{id}
			}
			lookup := func(id epoch.ID) (*membership.Event, bool) {
				i, ok := index[id]
				if !ok {
					return nil, false
				}
				return &events[i], true
			}
			targets := []epoch.ID{epoch.ID(events[n-1].ID()), epoch.ID(events[1].ID())}
			b.ResetTimer()
			for range b.N {
				if got := pastHolds(lookup, parent, targets); len(got) != 2 {
					b.Fatal("targets not found")
				}
			}
		})
	}
}

// withPayload returns e holding payload as its signed bytes (under a zero signature).
func withPayload(payload []byte, e membership.Event) membership.Event {
	x := membership.EventFromEntry(append(make([]byte, membership.SignatureLength), payload...))
	x.ChatID, x.Type, x.From, x.Members, x.Name, x.Parents = e.ChatID, e.Type, e.From, e.Members, e.Name, e.Parents
	return x
}
