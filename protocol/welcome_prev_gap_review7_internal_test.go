package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// Review 7 (illustration of area 5): the entry a gap member b gets in a2's add Welcome
// (welcomeV2To(..., gaps, join of Add2)): Add2 with its own, signed prev {Add1, X}, b's
// frontier {K}, K an honest rekey concurrent with X and Add2 (not in the log). Before
// review 6 the entry passed (prevAgrees); now prevShown sends it to wait for Add2's key
// block, which b — a gap for X, without X's seed — cannot open (sealed under
// epoch({Add1, X})).
func TestReview7PrevShownGapMember(t *testing.T) {
	id := func(b byte) epoch.ID { return epoch.ID{b} }
	C0, Add1, X, Add2, K := id(1), id(2), id(3), id(4), id(5)
	evs := map[epoch.ID]*membership.Event{
		C0:   {Type: membership.ChatCreated},
		Add1: {Type: membership.MembersAdded, Parents: []membership.EventID{membership.EventID(C0)}},
		X:    {Type: membership.MemberRemoved, Parents: []membership.EventID{membership.EventID(C0)}},
		Add2: {Type: membership.MembersAdded, Parents: []membership.EventID{membership.EventID(Add1), membership.EventID(X)}},
	}
	lookup := func(i epoch.ID) (*membership.Event, bool) { e, ok := evs[i]; return e, ok }
	prev, err := epoch.NewFrontier(Add1, X)
	if err != nil {
		t.Fatal(err)
	}
	frontier, _ := epoch.NewFrontier(K)
	if !prevAgrees(lookup, *evs[Add2], prev, frontier) {
		t.Fatal("prevAgrees refuses the honest entry")
	}
	prevOf := func(i epoch.ID) epoch.Frontier {
		if i == K {
			f, _ := epoch.NewFrontier(Add1)
			return f
		}
		return nil
	}
	if !prevShown(lookup, prevOf, *evs[Add2], prev, frontier, false) {
		t.Fatal("prevShown: the honest entry of a gap member waits for a key block it cannot open (ErrUnknownPrev, Welcome pending until PendingTTL)")
	}
	// Review 6's case: the rekey came before ev (K follows Add2's own prev): an entry
	// leaving it out, or giving ev an empty prev, is not shown.
	after := func(i epoch.ID) epoch.Frontier {
		f, _ := epoch.NewFrontier(Add2)
		return f
	}
	if prevShown(lookup, after, *evs[Add2], prev, frontier, false) {
		t.Error("prevShown takes an entry leaving out a rekey that came after what its prev names")
	}
	if prevShown(lookup, prevOf, *evs[Add2], epoch.Frontier{}, frontier, false) {
		t.Error("prevShown takes an empty prev leaving out a rekey of our frontier")
	}
}
