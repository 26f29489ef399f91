// Key schedule v2, uncommitted membership key events: the one commitment check of a
// membership key event (its key block, a member's Welcome entry), and the events refused
// for it whose membership change applied all the same (epochMeta.Refused), which the next
// key event of ours names as prev.

package protocol

import (
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// memberCommitted checks that membership key event ev, given the prev set prev (its key
// block's, or a member's Welcome entry's), commits to it (spec "Frontier"): its epoch prev
// digest (field 103) must be the digest of prev (another is epoch.ErrMalformed). An event
// without a digest commits to no prev (epoch.ErrUncommitted) — whatever prev is given: an
// empty prev needs no digest only for a creation, whose prev is empty. Every path a
// membership key event not applied before is applied by goes through here (processKeyBlock,
// checkJoinPrev), so one event reaches one outcome whichever way it comes (review 20,
// TestReview20EmptyPrevEntrySplit: a Welcome entry giving an older version's add an empty
// prev passed epoch.CheckMemberPrev as a creation's, was applied, and its key block then
// passed as applied before: the recipient left the others' frontier for good).
func memberCommitted(ev *membership.Event, prev epoch.Frontier) error {
	if ev.EpochPrev == nil && ev.Type != membership.ChatCreated {
		return fmt.Errorf("%w: membership key event without an epoch prev digest", epoch.ErrUncommitted)
	}
	return epoch.CheckMemberPrev(prev, ev.EpochPrev)
}

// maxRefused bounds epochMeta.Refused: with our frontier, what a key event of ours names
// fits a prev set (epoch.MaxFrontier) while the frontier holds one event.
const maxRefused = epoch.MaxFrontier - 1

// known reports whether s applied key event id or an applied event names it as prev.
func known(s *epoch.Schedule, id epoch.ID) bool { return s.Applied(id) || s.Superseded(id) }

// noteRefused records id, a membership key event of ours refused as uncommitted
// (processKeyBlock) whose membership event applied, unless s knows it or maxRefused are
// listed. It reports whether m changed.
func (m *epochMeta) noteRefused(s *epoch.Schedule, id epoch.ID) bool {
	k := id.String()
	if known(s, id) || slices.Contains(m.Refused, k) || len(m.Refused) >= maxRefused {
		return false
	}
	m.Refused = append(slices.Clip(m.Refused), k)
	return true
}

// refusedOpen reports whether id, listed in m.Refused, is still to be named as prev by
// our key events: s does not know it, and a member holds it in its frontier — its
// membership event is applied (its newcomers are members), or its author is a member (an
// older version applies its own event, whatever overrode it since). An event our state
// keeps overridden (rule C1: its author's removal, leave or step-down concurrent with it)
// whose author is no member is held by nobody we must reach: it is not named (fix 25,
// TestFix25RefusedOverriddenLeave: named by our heal, it was held on our word for good at
// a member that met the removal first and never refused the block). An id our state does
// not keep at all stays open, as before. This is the one check of "refused and open":
// refused, refusedInstalls, keyEventPrev and settleRefused all go through it.
func refusedOpen(s *epoch.Schedule, st *membership.State, id epoch.ID) bool {
	if known(s, id) {
		return false
	}
	if st == nil {
		return true
	}
	if ev, ok := appliedEvent(st, id); ok {
		return !departedConcurrent(stateLookup(st), st, ev)
	}
	ev, ok := overriddenEvent(st, id)
	return !ok || st.IsMember(ev.From)
}

// departedConcurrent reports whether ev, an event applied in st, is one of an account no
// member of st that a departure of that account (a MEMBER_REMOVED naming it) is concurrent
// with: rule C3 (mutual removal) applies both removals, each author's event concurrent
// with its own removal. Such an event is judged as one the rules keep overridden (rule
// C1: its author's departure concurrent with it): its key block is refused by every member
// (refuseOverridden), whichever of the two removals it met first, and it is held by nobody
// we must reach (refusedOpen: not named by our heal) — review 26,
// TestReview26MutualRemovalConcurrent: met before the other removal (C2: overridden), the
// block was recorded as refused and kept open once C3 applied it, met after it was
// ErrNotMember and dropped; the heals named it, and the members that dropped it held it
// on the healer's word for good. This is the one check of "applied, its author departed
// concurrently": refusedOpen, refuseOverridden, departedApplied, openGroupMessageV2.
func departedConcurrent(lookup func(epoch.ID) (*membership.Event, bool), st *membership.State, ev membership.Event) bool {
	if st.IsMember(ev.From) {
		return false
	}
	_, concurrent := departureOrder(lookup, st, ev.From, epoch.ID(ev.ID()), ev.Parents)
	return concurrent
}

// departureOrder reports how the departures of account in st (MEMBER_REMOVED events naming
// it, its leave included) stand to its event id with parents: after, one holds the event in
// its causal past; concurrent, one is neither in the event's causal past nor holds it. A
// departure in the event's own past (its author re-added since) has no bearing.
func departureOrder(lookup func(epoch.ID) (*membership.Event, bool), st *membership.State, account string, id epoch.ID, parents []membership.EventID) (after, concurrent bool) {
	for i := range st.Events {
		d := &st.Events[i]
		if d.Type != membership.MemberRemoved || !d.Members.Contains(account) {
			continue
		}
		did := epoch.ID(d.ID())
		switch {
		case pastHolds(lookup, d.Parents, []epoch.ID{id})[id]:
			after = true
		case pastHolds(lookup, parents, []epoch.ID{did})[did]:
		default:
			concurrent = true
		}
	}
	return after, concurrent
}

// stateLookup looks events up among st's applied events, as txn.eventLookup does for a
// group's state, indexed on first use.
func stateLookup(st *membership.State) func(epoch.ID) (*membership.Event, bool) {
	var idx map[epoch.ID]int
	return func(id epoch.ID) (*membership.Event, bool) {
		if idx == nil {
			idx = make(map[epoch.ID]int, len(st.Events))
			for i := range st.Events {
				idx[epoch.ID(st.Events[i].ID())] = i
			}
		}
		i, ok := idx[id]
		if !ok {
			return nil, false
		}
		return &st.Events[i], true
	}
}

// overriddenEvent returns the event of st's overridden (kept, never applied) events whose
// id is id.
func overriddenEvent(st *membership.State, id epoch.ID) (membership.Event, bool) {
	for i := len(st.Overridden) - 1; i >= 0; i-- {
		if epoch.ID(st.Overridden[i].ID()) == id {
			return st.Overridden[i], true
		}
	}
	return membership.Event{}, false
}

// pendingEvent returns the event of st's pending events (a parent missing) whose id is id.
func pendingEvent(st *membership.State, id epoch.ID) (membership.Event, bool) {
	for i := range st.Pending {
		if epoch.ID(st.Pending[i].ID()) == id {
			return st.Pending[i], true
		}
	}
	return membership.Event{}, false
}

// refused returns the ids of m.Refused still open in s and st (refusedOpen).
func (m *epochMeta) refused(s *epoch.Schedule, st *membership.State) []epoch.ID {
	var out []epoch.ID
	for _, k := range m.Refused {
		if id, ok := hexID(k); ok && refusedOpen(s, st, id) {
			out = append(out, id)
		}
	}
	return out
}

// settleRefused drops from m.Refused what is no longer open (storeSchedule): ids s knows
// now (named by an applied key event: healed), and ids refusedOpen closed for st, which s
// then knows as refused by us (epoch.Schedule.Refuse: superseded, never applied), so that
// a key event naming one later — a member's that applied it before the override reached
// it — holds nothing on its author's word (we refused the block ourselves). Past epoch's
// bounds (Refuse fails) the id is dropped all the same. st nil: only known ids go.
func (m *epochMeta) settleRefused(s *epoch.Schedule, st *membership.State) {
	if len(m.Refused) == 0 {
		return
	}
	var keep []string // a new slice: m's may be shared with a memo's
	for _, k := range m.Refused {
		id, ok := hexID(k)
		switch {
		case !ok || known(s, id):
		case refusedOpen(s, st, id):
			keep = append(keep, k)
		default:
			_ = s.Refuse(id)
		}
	}
	m.Refused = keep
}

// refuseNamed records in s, before a key event naming prev is applied, the ids of prev
// that m lists as refused and s does not know: s knows them as refused by us
// (epoch.Schedule.Refuse: superseded, never applied), not as unseen ids held on the key
// event's author's word. We met and refused them ourselves; held, each refused event
// spent one of the healer's MaxUnseenPerAuthor ids for good (review 22,
// TestReview22RefusedHeldOnHealerWord). The event applies as it would otherwise: the ids
// are superseded by it. Past epoch's bounds (Refuse fails) the id stays unknown and is
// held as any other.
func (m *epochMeta) refuseNamed(s *epoch.Schedule, prev epoch.Frontier) {
	if len(m.Refused) == 0 {
		return
	}
	for _, p := range prev {
		if !known(s, p) && slices.Contains(m.Refused, p.String()) {
			_ = s.Refuse(p)
		}
	}
}

// releaseRefused records in s that we refused membership key event id ourselves
// (processKeyBlock: its author a member, its membership event applied, its block without
// an epoch prev digest) after an applied key event or a member's Welcome entry named it:
// the hold on its namer's word is released (epoch.Schedule.RefuseHeld), so that s knows
// it as refuseNamed makes it known when the block comes first (review 23,
// TestReview23RefusedHeldHealFirst: a member that met the heal before the refused event's
// block held the id on the healer's word for good). Only this refusal releases a hold:
// an id a block or Welcome merely names stays held. It reports whether s changed.
func releaseRefused(s *epoch.Schedule, id epoch.ID) bool { return s.RefuseHeld(id) }

// keepRefused keeps the seed of refused membership key event kb among the kept seeds
// (epochMeta.Kept), from our slot of its block if it has one that opens and passes its
// key confirmation: for opening only, never for sending or as our epoch (the event is not
// applied, its block stays refused). Its author and newcomers are on the epoch it composes
// until a key event naming it reaches them, and seal under it meanwhile — their next
// membership event too, which every member must apply to keep one membership (review 22,
// TestReview22RefusedChainSplit, TestReview22RefusedChainRemovalLost: an older admin's
// removal right after its uncommitted add was lost at the others, and the removed member
// read on). We were sent the seed: we were a member for its author, as for any key event.
// It reports whether m changed.
func (t *txn) keepRefused(g *storage.GroupRecord, s *epoch.Schedule, m *epochMeta, kb *epoch.KeyBlock, author *storage.InstallationRecord) bool {
	if s.Applied(kb.Event) {
		return false
	}
	return t.keepSlotSeed(g, s, m, kb, author)
}

// keepSuperseded keeps the seed of key event kb, applied here and already superseded when
// its block comes (a key event naming it met first: a member's Welcome entry, a heal), among
// the kept seeds, from our slot if it opens and passes the key confirmation — for opening
// only, as keepRefused: the event is out of the frontier, never our sending epoch. Its
// successor's publish is sealed under an epoch it composes (a heal H over {M} seals under
// {M}): without the seed it never opened here, and H's Welcome entry stayed held on its
// sender's word for good (fix30, TestReview25CommittedDepartedWelcome). Called by
// processKeyBlock alone — every path of a key block — after its checks and only for a block
// that applied its event (fresh) or saw it (seenWelcomed): an event not applied here (a
// removed member's, a refused one's) is never kept by this. It reports whether m changed.
func (t *txn) keepSuperseded(g *storage.GroupRecord, s *epoch.Schedule, m *epochMeta, kb *epoch.KeyBlock, author *storage.InstallationRecord) bool {
	if !s.Applied(kb.Event) || s.Retracted(kb.Event) || s.InFrontier(kb.Event) || s.HasSeed(kb.Event) {
		return false
	}
	return t.keepSlotSeed(g, s, m, kb, author)
}

// keepSlotSeed opens our slot of kb and keeps its seed among the kept seeds if it passes
// the block's key confirmation and is not kept yet: an applied event's as the newest, a
// refused one's at the age of its prev (keptInsert), bounded (boundKept). It reports
// whether m changed.
func (t *txn) keepSlotSeed(g *storage.GroupRecord, s *epoch.Schedule, m *epochMeta, kb *epoch.KeyBlock, author *storage.InstallationRecord) bool {
	k := kb.Event.String()
	if slices.ContainsFunc(m.Kept, func(x keptSeed) bool { return x.ID == k }) {
		return false
	}
	h := kb.Hinter()
	sl, ok := kb.Find(h.Hint(epoch.Installation(t.c.acct.inst)))
	if !ok {
		return false // no slot for us (a removal of ours), or in another part
	}
	seed, err := t.openSeedSlot(g, kb, sl, author)
	if err != nil {
		t.c.log.Debug("kept seed: our slot does not open", "event", shortID(kb.Event), "err", err)
		return false
	}
	ks := keptSeed{ID: k, Seed: hex.EncodeToString(seed[:])}
	clear(seed[:])
	for _, p := range kb.Prev {
		ks.Prev = append(ks.Prev, p.String())
	}
	m.Kept = keptInsert(m.Kept, ks, s.Applied(kb.Event))
	var authorOf func(epoch.ID) (string, bool)
	if gc := t.c.groups[g.ID]; gc != nil {
		authorOf = keptAuthorOf(t.stateOf(gc), t.eventLookup(gc))
	}
	m.boundKept(s, authorOf)
	return slices.ContainsFunc(m.Kept, func(x keptSeed) bool { return x.ID == k })
}

// hexID parses an id in its hex form.
// No allocation (decodeHexString): boundKept and cutOverridden parse every kept seed's
// id per key event received (issue 13).
func hexID(k string) (epoch.ID, bool) {
	var id epoch.ID
	if !decodeHexString(id[:], k) {
		return epoch.ID{}, false
	}
	return id, true
}

// keyEventPrev returns the prev set of a key event we author now: our frontier and the
// refused membership key events s does not know yet (spec "Frontier", Versions), as many
// as fit epoch.MaxFrontier, ascending. The members that applied such an event (of a
// version before cycle12, or joined from a join naming it) hold it in their frontier and
// this supersedes it there, so that they come back to the group's epoch; here it is an id
// named as prev, never applied (its block stays refused: no cycle can close through it).
// Then the applied events the members that refused a key event we applied stand on
// (epochMeta.behind): named, they leave those members' frontier.
func keyEventPrev(s *epoch.Schedule, m *epochMeta, st *membership.State) epoch.Frontier {
	prev := s.Frontier()
	extra := append(m.refused(s, st), m.behind(s, st)...)
	if len(extra) == 0 {
		return prev
	}
	if room := epoch.MaxFrontier - len(prev); len(extra) > room {
		extra = extra[:max(room, 0)]
	}
	f, err := epoch.NewFrontier(append(prev, extra...)...)
	if err != nil {
		return s.Frontier()
	}
	return f
}

// refusedInstalls returns, for the refused membership key events s does not know yet, the
// installations of their authors and of the accounts they added that are members still
// (not ours). The epoch a refused event's members hold is not ours: its newcomers hold
// none of our frontier's seeds (whatever a frontier event's coverage says: a join's roots
// have none, counting as reaching everyone), so they are coverage gaps — the heal gives
// them its join in a Welcome — and its authors, who applied it and see nothing to heal,
// stand aside when the designated installation is chosen.
func (t *txn) refusedInstalls(gc *groupCache, s *epoch.Schedule, m *epochMeta) (authors, added []*storage.InstallationRecord, err error) {
	st := t.stateOf(gc)
	ids := m.refused(s, st)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	var authorAccts, addedAccts []string
	for _, id := range ids {
		ev, applied := appliedEvent(st, id)
		if !applied {
			var ok bool
			if ev, ok = overriddenEvent(st, id); !ok {
				continue
			}
		}
		if st.IsMember(ev.From) && !slices.Contains(authorAccts, ev.From) {
			authorAccts = append(authorAccts, ev.From)
		}
		if applied && ev.Type == membership.MembersAdded { // an overridden add added no one
			for _, a := range ev.Members.All() {
				if st.IsMember(a) && !slices.Contains(addedAccts, a) {
					addedAccts = append(addedAccts, a)
				}
			}
		}
	}
	of := func(accts []string) ([]*storage.InstallationRecord, error) {
		if len(accts) == 0 {
			return nil, nil
		}
		ins, err := t.installationsOf(membership.MembersOf(accts...))
		if err != nil {
			return nil, err
		}
		var out []*storage.InstallationRecord
		for i := range ins {
			if ins[i].ID != t.c.acct.inst {
				out = append(out, &ins[i])
			}
		}
		return out, nil
	}
	if authors, err = of(authorAccts); err != nil {
		return nil, nil, err
	}
	if added, err = of(addedAccts); err != nil {
		return nil, nil, err
	}
	return authors, added, nil
}

// mayBeOverridden reports whether a publish of installation in, whose account is no member
// of st now, is opened all the same: one with a membership key event (kb) or with no key
// block at all (a membership event that does not rekey: a rename, a promotion, a
// step-down, a leave), of an account once a member, not revoked. Only a membership event
// the rules keep overridden is taken (rule C1: made concurrently with its author's removal
// or leave; openGroupMessageV2 for a key event, overriddenUpdate for the others), and
// nothing else of the publish: the rules say such an event is kept, stored and sent, and a
// member that met the departure first dropped it unopened (fix 25,
// TestFix25RefusedOverriddenLeave: its log lacked the event, so a later event naming it as
// parent waited there for good, and a heal that named it — made where it was applied
// before the departure came — was held on the healer's word for good; fix 31,
// TestFix31DepartedNonKey: the same for a rename, a later rename naming it waited for good).
// A rekey's block (kb.Kind == KindRekey) is judged by the rekey authority rule instead.
func mayBeOverridden(st *membership.State, in *storage.InstallationRecord, kb *epoch.KeyBlock, joining bool) bool {
	return !in.Revoked && !joining && (kb == nil || kb.Kind == epoch.KindMembership) && st.WasEverMember(in.Account)
}

// overriddenUpdate checks the content gp of a publish without a key block by departed
// account (mayBeOverridden): a membership update every event of which the state merged
// with it keeps overridden (rule 3) and is account's own, no key event among them (a key
// event rides with its block). If some of account's events are pending in the merge (a
// parent missing) and every other one is kept overridden, it is errPending: the envelope
// waits as a member's does, within the bounds on pending envelopes (MaxPending*, PendingTTL;
// the caller claims its installation), and is judged again when a retry finds the parent
// (fix 35, TestFix35DepartedNonKeyParentLate: refused, the event was lost where it came
// before its parent, and a later event naming it waited for good, as fix 32 found for a key
// event). Anything else — an ordinary message, an event the rules discard (made after its
// author's departure: no member of its past) or apply — is ErrNotMember, nothing stored. On
// success t.updated holds the merge (mergeOverridden stores it; the message is not stored).
func (t *txn) overriddenUpdate(gc *groupCache, account string, gp *wire.GroupPlaintext) error {
	if gp.Type != wire.ContentMembership {
		return ErrNotMember
	}
	mm, err := wire.ParseMembership(gp.Body)
	if err != nil {
		return ErrNotMember
	}
	base := t.stateOf(gc)
	next, um, err := membership.Update(base, mm.Update, t.c.acct.id, t.c.now(), membership.ChorusRules())
	if err != nil || len(um.Events) == 0 {
		return ErrNotMember
	}
	if _, isKey := keyEventOf(um.Events); isKey {
		return ErrNotMember
	}
	waits := false
	for i := range um.Events {
		id := epoch.ID(um.Events[i].ID())
		if ev, ok := overriddenEvent(&next, id); ok && ev.From == account {
			continue
		}
		if ev, ok := pendingEvent(&next, id); ok && ev.From == account {
			waits = true
			continue
		}
		return ErrNotMember
	}
	if waits {
		return errPending // nothing stored: judged again once its parents come
	}
	t.updated = &updateMemo{base: base, update: mm.Update, next: next, msg: um}
	t.decoded = t.updated
	return nil
}

// mergeOverridden stores the membership change of the update openGroupMessageV2 merged
// for a departed author's overridden event (mayBeOverridden); the message is not stored.
func (t *txn) mergeOverridden(g *storage.GroupRecord, gc *groupCache) error {
	u := t.updated
	t.updated, t.decoded = nil, nil
	next := u.next
	boundPending(&next)
	return t.applyMembership(g, gc, next, nil, false)
}

// refuseOverridden settles membership key block kb of account, no member now: if its event
// is one our state keeps overridden (rule 3), it is never applied here and s knows it as
// refused by us (releaseRefused if a key event named it first, else Schedule.Refuse), so a
// heal that named it where it applied before the override holds nothing on its author's
// word. One id per overridden event our log keeps. Any other is ErrNotMember, as before.
func (t *txn) refuseOverridden(g *storage.GroupRecord, gc *groupCache, kb *epoch.KeyBlock, author *storage.InstallationRecord) error {
	account := author.Account
	st := t.stateOf(gc)
	ev, ok := overriddenEvent(st, kb.Event)
	if !ok {
		ev, ok = appliedEvent(st, kb.Event)
		ok = ok && departedConcurrent(t.eventLookup(gc), st, ev) // rule C3: judged as overridden
	}
	if !ok || ev.From != account {
		return ErrNotMember
	}
	s, m, err := t.loadV2(g)
	if err != nil {
		return err
	}
	if s.Applied(kb.Event) {
		return nil
	}
	changed := releaseRefused(s, kb.Event)
	if !changed && !known(s, kb.Event) {
		changed = s.Refuse(kb.Event) == nil
	}
	if t.keepRefused(g, s, m, kb, author) { // for opening what a member that applied it seals under it
		changed = true
	}
	if !changed {
		return nil
	}
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return err
	}
	return t.PutGroupState(g)
}

// refusedDeparted reports whether membership key block kb of installation in, whose
// account is no member of st now, is judged as if its author were still a member: its
// event is applied in st (it was a member when it made it: the departure came after, as
// the same publish's pending leave or removal applied with it), its author not revoked
// and once a member. processKeyBlock then refuses it only as it refuses a member's
// uncommitted event — noteRefused, releaseRefused, keepRefused: never applied, never our
// epoch — and a committed one stays ErrNotMember, as before. Before, such a block was
// ErrNotMember at once: a member that met a heal naming the event before its publish, and
// its author's leave applying with it, held the id on the healer's word for good (review
// 24, TestReview24RefusedHeldAuthorLeft), while the block-first order knew it as refused.
// An event st does not apply (never applied, or overridden: refuseOverridden) gains
// nothing here: a departed author's blocks replayed from history change nothing else.
func refusedDeparted(st *membership.State, kb *epoch.KeyBlock, in *storage.InstallationRecord) bool {
	if in.Revoked || kb.Kind != epoch.KindMembership || !st.WasEverMember(in.Account) {
		return false
	}
	ev, ok := appliedEvent(st, kb.Event)
	return ok && ev.From == in.Account && ev.EpochPrev == nil && ev.Type != membership.ChatCreated &&
		!departedConcurrent(stateLookup(st), st, ev) // rule C3: refuseOverridden
}

// departedApplied reports whether membership key block kb, whose publish's message was
// refused as its author's (no member now), is one refusedDeparted judges: its event
// applied here before the publish came.
func (t *txn) departedApplied(gc *groupCache, kb *epoch.KeyBlock) bool {
	in, err := t.installationView(InstallationID(kb.Author))
	if err != nil {
		return false
	}
	st := t.stateOf(gc)
	if refusedDeparted(st, kb, in) || t.departedAfter(gc, st, kb, in) {
		return true
	}
	ev, ok := appliedEvent(st, kb.Event)
	return ok && !in.Revoked && kb.Kind == epoch.KindMembership && ev.From == in.Account && departedConcurrent(t.eventLookup(gc), st, ev)
}

// departedAfter reports whether membership key block kb of installation in, whose account
// is no member of st now, carries a COMMITTED event (field 103) applied in st whose
// author departed causally after it: some departure of its account (a MEMBER_REMOVED
// naming it, its leave included) holds the event in its causal past, and every other one
// is in the event's own causal past (a departure before it, re-added since) — none is
// concurrent with it. Its author was a member when it made the event, as the rekey
// authority rule judges a departed author's rekey (departedIn): processKeyBlock then
// applies the block as it does in the block-first order (review 25,
// TestReview25CommittedDepartedWelcome: a member's Welcome carried the event, the leave and
// the heal naming it before the block; refused, the event never entered our schedule and
// its prev stayed in our frontier beside the heal, an epoch of our own for good). Not for
// a revoked installation, an event st does not apply (never applied, or overridden), an
// uncommitted one (refusedDeparted), nor one a departure of its author is concurrent with.
func (t *txn) departedAfter(gc *groupCache, st *membership.State, kb *epoch.KeyBlock, in *storage.InstallationRecord) bool {
	if in.Revoked || kb.Kind != epoch.KindMembership || !st.WasEverMember(in.Account) {
		return false
	}
	ev, ok := appliedEvent(st, kb.Event)
	if !ok || ev.From != in.Account || ev.EpochPrev == nil || ev.Type == membership.ChatCreated {
		return false
	}
	after, concurrent := departureOrder(t.eventLookup(gc), st, in.Account, kb.Event, ev.Parents)
	return after && !concurrent
}
