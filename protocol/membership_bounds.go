package protocol

import (
	"bytes"
	"slices"

	"github.com/chorus-im/chorus/membership"
)

// boundPending drops pending events whose author was never a member of the group (the
// creator or the target of an applied MEMBERS_ADDED: nobody else's events can ever
// apply) and keeps at most MaxPendingEventsPerAuthor per author and MaxPendingEvents in
// all, the newest by (clock, payload).
func boundPending(st *membership.State) {
	if len(st.Pending) == 0 {
		return
	}
	keep := slices.DeleteFunc(slices.Clone(st.Pending), func(ev membership.Event) bool { return !st.WasEverMember(ev.From) })
	slices.SortStableFunc(keep, func(a, b membership.Event) int { // newest first
		if a.Clock != b.Clock {
			if a.Clock > b.Clock {
				return -1
			}
			return 1
		}
		return bytes.Compare(b.Payload(), a.Payload())
	})
	perAuthor := map[string]int{}
	out := keep[:0]
	for _, ev := range keep {
		if perAuthor[ev.From] >= MaxPendingEventsPerAuthor || len(out) >= MaxPendingEvents {
			continue
		}
		perAuthor[ev.From]++
		out = append(out, ev)
	}
	slices.Reverse(out) // back to oldest first
	st.Pending = out
}

// allApplied reports whether every event in signed is among the applied events of next,
// comparing as the chorus rules de-duplicate (author and signed content), not by
// signature bytes: an identical event already held with another signature encoding
// counts as applied.
func allApplied(next *membership.State, signed []membership.Event) bool {
	for _, ev := range signed {
		if !slices.ContainsFunc(next.Events, func(e membership.Event) bool { return sameEvent(e, ev) }) {
			return false
		}
	}
	return true
}

func sameEvent(a, b membership.Event) bool {
	return a.From == b.From && a.ChatID == b.ChatID && a.SamePayload(b)
}
