// Key schedule v2, Welcome: checking a member's Welcome join entries' prev sets.

package protocol

import (
	"errors"
	"fmt"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// checkJoinPrev checks the prev set of every entry of j, a join a member's Welcome merges
// into our schedule s, against what we hold (spec "Engine (protocol/)", member's Welcome;
// welid, review 5's TestSecWelcomeEntryPrevEquivocation: a real key event given another
// prev set moved us to a frontier nobody else had). An event we applied and hold in our
// frontier must have the prev we recorded; one we applied and superseded since changes
// nothing. One not applied passes if it is a rekey whose id commits to its prev (ParseJoin
// checked it), or a membership key event of our log whose prev is the one its epoch prev
// digest commits to (field 103; one without a digest that is not a creation is refused
// whatever prev the entry gives it, as its key block is: memberCommitted,
// epoch.ErrUncommitted) and agrees with its causal past (prevAgrees), or a creation (no
// digest, an empty prev) shown to agree with what we know (prevShown). A prev that
// disagrees refuses the Welcome. Anything else is not taken on the sender's word: it is
// ErrUnknownPrev, and the Welcome waits for the event's key block.
func (t *txn) checkJoinPrev(gc *groupCache, s *epoch.Schedule, j epoch.Join) error {
	var lookup func(epoch.ID) (*membership.Event, bool)
	f := s.Frontier()
	for i := range j {
		e := &j[i]
		if s.Applied(e.Event) {
			if f.Contains(e.Event) && !s.Prev(e.Event).Equal(e.Prev) {
				return fmt.Errorf("protocol: welcome entry %s with another prev than its event's", shortID(e.Event))
			}
			continue
		}
		if e.Rekey != nil {
			continue
		}
		if lookup == nil {
			lookup = t.eventLookup(gc)
		}
		ev, ok := lookup(e.Event)
		if ok {
			// The event's epoch prev digest (field 103) gives its prev exactly: another
			// refuses the Welcome (malformed), and so does an event without one that is
			// not a creation, whatever prev the entry gives it (uncommitted, as its key
			// block is: the one check of both, memberCommitted; spec "Frontier").
			if err := memberCommitted(ev, e.Prev); err != nil {
				return fmt.Errorf("protocol: welcome entry %s: %w", shortID(e.Event), err)
			}
		}
		switch {
		case ok && !prevAgrees(lookup, *ev, e.Prev, f):
			return fmt.Errorf("protocol: welcome entry %s with a prev its event's causal past disagrees with", shortID(e.Event))
		case ok && ev.EpochPrev != nil:
			// Exact: the prev its author signed, so its key block's SeenPrev adds nothing
			// (review 6's inexactness of prevShown does not arise).
		case !ok || !prevShown(lookup, s.Prev, *ev, e.Prev, f, s.Superseded(e.Event)):
			return fmt.Errorf("%w: welcome entry %s: its prev cannot be checked before its key block", epoch.ErrUnknownPrev, shortID(e.Event))
		}
	}
	return nil
}

// prevShown reports whether prev, a Welcome entry's prev set for the membership key event
// ev (of our log, not applied), is shown to agree with what we know, frontier being ours,
// once prevAgrees passed it: that is, where prevAgrees is exact. It is not where prev names
// an id the log cannot place (a rekey, an event we do not hold: prevAgrees then checks only
// the rest), or where ev names no parents (no causal past to check against: Status rules).
// An event an applied event names as prev (superseded) never enters our frontier: its prev
// only supersedes events of its causal past (prevAgrees), so that is enough (a newcomer
// welcomed first by a healing rekey takes its inviter's join this way, the rekey naming the
// inviter's add: TestConcurrentMembershipChanges). For one that enters our frontier, whose
// prev we record, also (review 6): every event of our frontier the log cannot place (a
// rekey) must be in prev, or be shown concurrent with ev: its own prev (prevOf, the signed
// prev of its block) all in the past prev names — prevAgrees skips such a rekey, as it
// cannot tell whether it came before ev (its prev must then name it) or concurrently (it
// must not), so an empty prev for a removal that followed a rekey passed, and we applied
// the removal beside the rekey it supersedes, a frontier nobody else had
// (TestSecWelcomeEntryPrevAfterRekey). Requiring every such rekey in prev (review 6) made
// an honest concurrent one wait for a key block a gap member cannot open, for good
// (review 7, TestReview7PrevShownGapMember: a2's add after a removal m's rekey did not
// see). A member who gives ev the rekey's own prev still passes and parts us from the
// group until ev's block arrives (then SeenPrev records the signed prev); it could do as
// much with a made-up rekey in its Welcome (spec, Known limits); and no event
// of prev may be in the causal past of another (a frontier never holds both): an ancestor
// added to the event's own prev passed, and we recorded that prev for good, refusing every
// honest Welcome naming the event since (TestSecWelcomeEntryPrevRedundant).
//
// Such an entry waits for its key block rather than refusing the Welcome: the honest case
// looks the same (the rekey concurrent with ev; an author whose frontier held an event and
// its ancestor, the rekey between them unseen) and its seed would come from nowhere else
// (the Welcome stands in for a seed we missed); once the block has applied ev it is
// checked as an applied event. A rekey we have not seen at all, before ev, cannot be told
// from none: an entry leaving it out is still taken (spec, Known limits).
func prevShown(lookup func(epoch.ID) (*membership.Event, bool), prevOf func(epoch.ID) epoch.Frontier,
	ev membership.Event, prev, frontier epoch.Frontier, superseded bool) bool {
	if len(ev.Parents) == 0 && ev.Type != membership.ChatCreated {
		return false
	}
	held := make([]*membership.Event, 0, len(prev))
	for _, p := range prev {
		e, ok := lookup(p)
		if !ok {
			return false
		}
		held = append(held, e)
	}
	if superseded {
		return true
	}
	var parents []membership.EventID // prev as the roots of a walk of the log
	for _, k := range frontier {
		if _, ok := lookup(k); ok || prev.Contains(k) {
			continue
		}
		// A rekey of our frontier that prev leaves out is taken as concurrent with ev
		// only where its own prev (recorded from its signed block) lies in what prev
		// names, so that it cannot have come after anything ev follows (review 7).
		if parents == nil {
			parents = make([]membership.EventID, len(prev))
			for i, p := range prev {
				parents[i] = membership.EventID(p)
			}
		}
		kp := prevOf(k)
		if len(kp) == 0 || len(pastHolds(lookup, parents, kp)) < len(kp) {
			return false
		}
	}
	for i, e := range held {
		others := slices.Concat(prev[:i], prev[i+1:])
		if len(pastHolds(lookup, e.Parents, others)) > 0 {
			return false
		}
	}
	return true
}

// seenWelcomed handles the key block kb (author by) of an event already applied: if it was
// merged from a member's Welcome (held on its sender's word), the hold is released and what
// the block's signed prev names that the entry's prev did not is superseded (Schedule.SeenPrev:
// a Welcome giving a real key event a prev short of its own kept the events it superseded in
// our frontier for good, TestSecWelcomeEntryPrevEquivocation). Since checkJoinPrev a rekey's
// entry has its block's prev (its id commits to it); a membership event's entry may still
// leave out what prevAgrees cannot see, which this completes. Naming ids past by's budget,
// the block waits (errPending) as one applied fresh would. It reports whether s changed.
func (t *txn) seenWelcomed(s *epoch.Schedule, kb *epoch.KeyBlock, by epoch.Author) (bool, error) {
	seen, err := s.SeenPrev(epoch.Event{ID: kb.Event, Prev: kb.Prev}, by)
	if errors.Is(err, epoch.ErrUnknownPrev) {
		t.claim = append([]byte("inst"), kb.Author[:]...)
		return false, errPending
	}
	return seen, err
}

// checkJoinRoots checks the entries of a newcomer's join (its first schedule's roots)
// against the membership events its Welcome carries (st): an entry whose event carries an
// epoch prev digest (field 103) must have the prev it commits to, or the Welcome is
// refused. Others are taken on the inviter's word, as the newcomer's whole first view is
// (spec "Engine (protocol/)" › newcomer's join): an entry of an event without a digest (a
// stored state's, applied before this version) or not in the log (a rekey's id commits to
// its prev: ParseJoin).
func checkJoinRoots(st *membership.State, j epoch.Join) error {
	for i := range j {
		if j[i].Rekey != nil {
			continue
		}
		if ev, ok := appliedEvent(st, j[i].Event); ok && ev.EpochPrev != nil {
			if err := epoch.CheckMemberPrev(j[i].Prev, ev.EpochPrev); err != nil {
				return fmt.Errorf("protocol: join entry %s: %w", shortID(j[i].Event), err)
			}
		}
	}
	return nil
}
