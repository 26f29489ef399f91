package epoch

import "bytes"

// Designated returns the bytewise smallest of ids (false if ids is empty): the installation
// that rekeys an unhealed epoch at once (among the resulting membership), and the
// designated forwarder of an event's contribution (among the event's author and recipients
// still members). Spec: "Rekeys after a leave and after concurrent removals", "Forwarding".
func Designated(ids []Installation) (Installation, bool) {
	if len(ids) == 0 {
		return Installation{}, false
	}
	best := ids[0]
	for _, id := range ids[1:] {
		if bytes.Compare(id[:], best[:]) < 0 {
			best = id
		}
	}
	return best, true
}

// FrontierEvent describes a frontier event for the healing rule: Departs is set when the
// event removes or revokes an installation.
type FrontierEvent struct {
	ID      ID
	Departs bool
}

// Unhealed reports whether the epoch of a frontier must be rekeyed before anything is sent
// under it: a leave was applied that no frontier event has in its causal past
// (uncoveredLeave: the leaver may hold the epoch), or the frontier has at least two events
// of which one removes or revokes an installation (the departed installations could pool
// the seeds each received from the other events).
func Unhealed(frontier []FrontierEvent, uncoveredLeave bool) bool {
	if uncoveredLeave {
		return true
	}
	if len(frontier) < 2 {
		return false
	}
	for _, e := range frontier {
		if e.Departs {
			return true
		}
	}
	return false
}
