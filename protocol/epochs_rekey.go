// Key schedule v2, rekeys: key events, key slots and key frames, healing (the heal check: epochs_heal.go).

package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/x3dh"
)

// keyEventOf returns the event of a signed batch that is its key event: the first that
// changes the set of installations — creation, an add, a removal by someone else. A leave
// (the author removing itself) is not a key event: the leaver must not draw the seed.
func keyEventOf(evs []membership.Event) (membership.Event, bool) {
	for _, ev := range evs {
		switch ev.Type {
		case membership.ChatCreated, membership.MembersAdded:
			return ev, true
		case membership.MemberRemoved:
			if !(ev.Members.Len() == 1 && ev.Members.At(0) == ev.From) {
				return ev, true
			}
		}
	}
	return membership.Event{}, false
}

// appliedEvent returns the applied event of st with id (looked for from the newest: key
// blocks name recent events).
func appliedEvent(st *membership.State, id epoch.ID) (membership.Event, bool) {
	for i := len(st.Events) - 1; i >= 0; i-- {
		if epoch.ID(st.Events[i].ID()) == id {
			return st.Events[i], true
		}
	}
	return membership.Event{}, false
}

// installationsOf returns the unrevoked installations we know of the accounts (ours
// included).
func (t *txn) installationsOf(accounts membership.Members) ([]storage.InstallationRecord, error) {
	var out []storage.InstallationRecord
	for _, m := range accounts.All() {
		ins, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if !in.Revoked {
				out = append(out, in)
			}
		}
	}
	return out, nil
}

// buildKeySlots seals the seed of key event E (block header kb) to each installation in
// targets over its pairwise session (starting one with X3DH where needed). It returns the
// slots and the installations served.
func (t *txn) buildKeySlots(g *storage.GroupRecord, kb *epoch.KeyBlock, seed *epoch.Seed, targets []storage.InstallationRecord) ([]epoch.Slot, []InstallationID, error) {
	c := t.c
	if c.hookSlotTargets != nil {
		targets = c.hookSlotTargets(targets)
	}
	// Our blocks are of version 3 (AES slot hints), but in a test (version 2: an older version's).
	kb.LegacyHints = c.hookLegacyBlocks
	kb.Confirm(epoch.ID(g.ID), seed) // before the context, which binds it
	ctx := kb.Context(epoch.ID(g.ID))
	pt, err := (&epoch.SlotPlaintext{Kind: epoch.SlotSeed, Seed: *seed}).MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	var slots []epoch.Slot
	var done []InstallationID
	hinter := kb.Hinter()
	for i := range targets {
		in := &targets[i]
		if in.ID == c.acct.inst || in.Revoked {
			continue
		}
		s, err := t.sessionTo(in)
		if err != nil {
			c.log.Debug("key block: no session", "installation", in.ID.String()[:8], "err", err)
			continue
		}
		pt := pt
		if c.hookSlotSeed != nil {
			if pt, err = (&epoch.SlotPlaintext{Kind: epoch.SlotSeed, Seed: c.hookSlotSeed(in.ID, *seed)}).MarshalBinary(); err != nil {
				return nil, nil, err
			}
		}
		msg, err := s.dr.Encrypt(pt, drAD(s.rec.AD, adSlotV2, ctx[:]))
		if err != nil {
			return nil, nil, err
		}
		sl := epoch.Slot{Hint: hinter.Hint(epoch.Installation(in.ID)), Kind: epoch.SlotSession, Message: msg}
		if s.pendingInitial() {
			if sl.Kind, sl.X3DHHeader, err = t.initialSlotHeader(s); err != nil {
				return nil, nil, err
			}
		}
		if err := t.saveSession(s, false); err != nil {
			return nil, nil, err
		}
		slots = append(slots, sl)
		done = append(done, in.ID)
	}
	slots, done = sortSlots(slots, done)
	return slots, done, nil
}

// initialSlotHeader returns the slot kind and X3DH header of a slot that starts session s:
// the compact header (without the initiator identity, which the receiver takes from the
// block's author: spec "Rotation block") when we initiated it, as every session we start.
func (t *txn) initialSlotHeader(s *sess) (byte, []byte, error) {
	_, hb := s.x3dhHeader()
	hdr, err := x3dh.ParseHeader(hb)
	if err != nil {
		return 0, nil, fmt.Errorf("protocol: stored x3dh header: %w", err)
	}
	if InstallationID(hdr.Initiator.ID) != t.c.acct.inst {
		return epoch.SlotInitial, hb, nil
	}
	compact, err := hdr.MarshalCompact()
	if err != nil {
		return 0, nil, err
	}
	return epoch.SlotInitialCompact, compact, nil
}

// packKeyFrames splits a key block into as few frames as fit one publish each, the
// message (if any) riding in part 0, each part signed with sign.
func packKeyFrames(kb epoch.KeyBlock, slots []epoch.Slot, msg []byte, maxFrame int, sign func([]byte) error) ([]*wire.FrameV2, error) {
	base := wire.FrameV2Overhead + kb.HeaderSize() + epoch.OuterOverhead - groupOverhead
	var parts [][]epoch.Slot
	var cur []epoch.Slot
	size := base + len(msg)
	for _, sl := range slots {
		b := epoch.KeyBlock{Kind: kb.Kind, Author: kb.Author, Event: kb.Event, Nonce: kb.Nonce, Prev: kb.Prev,
			Confirmation: kb.Confirmation, Parts: 1, Slots: []epoch.Slot{sl}}
		enc, err := b.MarshalBinary()
		if err != nil {
			return nil, err
		}
		n := len(enc) - kb.HeaderSize()
		if len(cur) > 0 && size+n > maxFrame {
			parts = append(parts, cur)
			cur, size = nil, base
		}
		if size+n > maxFrame {
			return nil, errors.New("protocol: a slot does not fit a publish")
		}
		cur = append(cur, sl)
		size += n
	}
	parts = append(parts, cur)
	if len(parts) > epoch.MaxParts {
		return nil, errors.New("protocol: key block too large")
	}
	frames := make([]*wire.FrameV2, len(parts))
	for i, p := range parts {
		b := kb
		b.Part, b.Parts, b.Slots = uint16(i), uint16(len(parts)), p
		enc, err := b.MarshalBinary()
		if err != nil {
			return nil, err
		}
		if err := sign(enc); err != nil {
			return nil, err
		}
		frames[i] = &wire.FrameV2{Block: enc}
	}
	if msg != nil {
		frames[0].Message = msg
	}
	return frames, nil
}

// rekeyV2 authors a rekey (prev = our frontier): a fresh seed to every installation of
// the membership, in a block-only publish under our newest live epoch (our previous
// one), and moves our schedule to the new epoch. s and m are updated and stored in g.
func (t *txn) rekeyV2(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta, msg []byte, id *MessageID) ([]*storage.OutboxRecord, error) {
	_, past, err := rekeyOuter(s, m, msg != nil)
	if err != nil {
		return nil, err
	}
	gaps, _, err := t.coverageGapsPast(gc, s, m, past)
	if err != nil {
		return nil, err
	}
	if len(gaps) == 0 {
		outs, _, _, err := t.rekeyV2Seed(g, gc, s, m, nil, msg, id)
		return outs, err
	}
	// Installations a frontier event's seed missed (added concurrently with it) may not
	// open the rekey's publish (sealed under our epoch, which they cannot compute): they
	// get its join, with the event log, in a Welcome v2. A departed author's event the
	// publish's epoch is computed without leaves no gap (rekeyOuter).
	return t.rekeyWelcomeV2(g, gc, s, m, gaps, "", msg, id)
}

// rekeyV2Seed is rekeyV2 that also gives extra installations (not yet known as members'
// to everyone) a slot, and returns the seed and event id.
func (t *txn) rekeyV2Seed(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta, extra []*storage.InstallationRecord,
	msg []byte, id *MessageID) ([]*storage.OutboxRecord, epoch.Seed, epoch.ID, error) {
	c := t.c
	var seed epoch.Seed
	outer, _, err := rekeyOuter(s, m, msg != nil)
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if msg == nil && len(m.Uncovered) > 0 {
		// A rekey that heals a departure carries the group's latest membership events:
		// an installation added concurrently with the departure (its Welcome's log lacks
		// it) learns it here, under an epoch it holds, before it could take the departed
		// installation for a member to reach.
		body, err := t.recentEventsBody(t.stateOf(gc))
		if err != nil {
			return nil, seed, epoch.ID{}, err
		}
		sealed, mid, err := t.sealMessageV2(g, &outer, wire.ContentMembership, body)
		if err != nil {
			return nil, seed, epoch.ID{}, err
		}
		msg, id = sealed, &mid
	}
	var nonce [epoch.NonceSize]byte
	if _, err := io.ReadFull(c.rand, nonce[:]); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	prev := keyEventPrev(s, m, t.stateOf(gc)) // our frontier, and refused key events others hold
	published := prev
	if c.hookRekeyPrev != nil {
		published = c.hookRekeyPrev(slices.Clone(prev))
	}
	kb := epoch.NewRekeyHeads(epoch.ID(g.ID), epoch.Installation(c.acct.inst), nonce, published, rekeyHeads(t.stateOf(gc)))
	origin := kb.Origin() // the id commits to the prev and heads (nil: a test's lying prev, or a legacy block)
	if c.hookLegacyBlocks || c.hookLegacyIDs {
		kb.LegacyID, kb.Heads, kb.Event, origin = true, nil, epoch.LegacyRekeyID(epoch.ID(g.ID), kb.Author, nonce), nil
	}
	if !published.Equal(prev) {
		origin = nil
	}
	if err := s.Apply(epoch.Event{ID: kb.Event, Prev: prev, Rekey: origin}); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if err := s.SetSeed(kb.Event, &seed); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	targets, err := t.installationsOf(t.stateOf(gc).Members)
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	for _, in := range extra {
		if !slices.ContainsFunc(targets, func(x storage.InstallationRecord) bool { return x.ID == in.ID }) {
			targets = append(targets, *in)
		}
	}
	slots, _, err := t.buildKeySlots(g, &kb, &seed, targets)
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	frames, err := packKeyFrames(kb, slots, msg, c.frameLimit, c.blockSigner(g.ID))
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	cv := newCoverage(kb.Event, kb.LegacyHints, c.acct.inst, targets, nil)
	cv.Outer = sealedOther(s.Group(), prev, outer.ID)
	m.Covered[kb.Event.String()] = cv
	m.Uncovered = nil
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if err := t.PutGroupState(g); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	t.onCommit(func() { c.rekeys++ })
	c.log.Debug("rekey authored", "group", g.ID.String()[:8], "event", shortID(kb.Event), "prev", shortIDs(kb.Prev),
		"outer", shortID(outer.ID), "slots", len(slots), "targets", len(targets))
	outs, err := t.queueFrames(g, &outer, frames, id)
	return outs, seed, kb.Event, err
}

// Rekey authors a rekey of a v2 group (post-compromise recovery): a fresh seed to every
// installation of the membership in one publish; everything sent afterwards is under the
// new epoch. A v1 group returns ErrUnsupportedGroup.
func (c *Client) Rekey(ctx context.Context, id GroupID) error {
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		g, gc, err := t.groupHot(id)
		if err != nil {
			return err
		}
		if !isV2(g) {
			return ErrUnsupportedGroup
		}
		if g.Status != GroupActive || !gc.isMember(c.acct.id) {
			return ErrNotMember
		}
		s, m, err := loadV2(g)
		if err != nil {
			return err
		}
		outs, err = t.rekeyV2(g, gc, s, m, nil, nil)
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, outs)
	return nil
}

// healV2 rekeys at once when we are the designated installation of an unhealed epoch
// (spec: "Rekeys after a leave and after concurrent removals"); the publish goes out
// after the transaction commits.
//
// With overdue set (healDue: the designated installation's heal has not come within our
// rank's grace), we heal whoever is designated.
func (t *txn) healV2(g *storage.GroupRecord, gc *groupCache, overdue bool) error {
	if g.Status != GroupActive || len(g.Schedule) == 0 {
		return nil
	}
	s, m, err := t.loadV2(g)
	if err != nil {
		return err
	}
	if !overdue {
		key := frontierKey(s)
		t.dropStaleRetry(g.ID, key)
		if !gc.overdue.IsZero() && gc.overdueFor != key {
			// The frontier the note waited on moved (a heal came, another key event): the
			// note is stale, whether or not this state is ours to heal (review 21,
			// TestReview21OverdueClockNotReset).
			t.onCommit(func() {
				if gc.overdueFor != key {
					gc.overdue = time.Time{}
				}
			})
		}
		if out, err := t.outranked(gc, s, m); err != nil || out {
			return err // no heal of ours; the next send checks (nothing kept: prepareV2)
		}
	}
	bad, err := t.unhealed(gc, s, m)
	if err != nil || !bad {
		if err == nil { // healed: the next send skips the check (prepareV2)
			healed := healedState{schedule: g.Schedule, meta: g.EpochMeta}
			c, id := t.c, g.ID
			t.onCommit(func() {
				gc.healthy, gc.overdue = healed, time.Time{}
				delete(c.healRetry, id) // nothing to heal: no backoff to keep
			})
		}
		return err
	}
	if len(s.Unconfirmed()) > 0 {
		// A frontier event merged from a member's Welcome and not seen in its key block:
		// its prev is its sender's word, and a rekey naming a frontier the others may not
		// hold would be sealed under an epoch they cannot open, for good. Its key block
		// heals us (seenWelcomed; TestSecWelcomeEntryPrevEquivocation); a send before
		// then still rekeys first.
		return nil
	}
	switch {
	case missingOnlyDeparted(s, m):
		// Only departed authors' seeds missing (refused or never given): the designated
		// installation heals under the epoch before their events, which we hold; its
		// heal reaches us. Each member that refused rekeying on its own made as many
		// concurrent heals, and a late one, sealed under that epoch, could not be
		// opened by members that had moved more than MaxLiveEpochs epochs past it.
	case len(s.Missing()) > 0 && slices.ContainsFunc(t.refused, func(r refusal) bool { return r.group == g.ID }):
		return t.healRefused(g, gc, s, m) // a seed we refused: no one will send a better one
	case len(s.Missing()) > 0 && len(m.Uncovered) == 0 && !missingAllDeparted(s, m):
		return nil // waiting for a member's seed: its sender repeats it; we rekey if we must send
	}
	// Past here, seeds still missing are departed authors' only (no epoch before their
	// events live for us, else the first case), or a departure is unhealed (Uncovered):
	// departed authors never repeat their seeds (their blocks are refused, no member
	// forwards), so the designated installation heals, as for any departure, sealed under
	// our newest live epoch (rekeyOuter), which needs none of them (review 19,
	// TestReview19RevokedBlockNoEagerHeal).
	for _, f := range s.Frontier() {
		if _, ok := m.Parts[f.String()]; ok {
			// A frontier key block still missing parts: its last part may exclude the
			// departed (a revocation's own block, split in parts, is usually behind the
			// device list that revokes). Wait for it; a send before then still rekeys
			// first (TestRevocationNoSpeakerRekey).
			return nil
		}
	}
	_, strong, err := t.coverageGapsSplit(gc, s, m)
	if err != nil {
		return err
	}
	late, err := t.lateJoiners(t.stateOf(gc), m)
	if err != nil {
		return err
	}
	if !overdue {
		// The authors of refused uncommitted key events stand aside: they applied them,
		// and see nothing to heal (refusedInstalls); so do the revoker's account's
		// installations while a revoked device's event is in the frontier (revokerSiblings).
		aside, _, err := t.refusedInstalls(gc, s, m)
		if err != nil {
			return err
		}
		revokers, err := t.revokerSiblings(s, m)
		if err != nil {
			return err
		}
		// Those that applied a key event we refused, our frontier apart from theirs,
		// see nothing to heal either (apartInstalls).
		apart, err := t.apartInstalls(gc, s, m)
		if err != nil {
			return err
		}
		rank, err := t.designatedRank(t.stateOf(gc), slices.Concat(strong, late, aside, revokers, apart))
		if err != nil || rank != 0 {
			if err == nil && rank > 0 { // heal ourselves if the designated one's heal never comes
				now, key := t.c.now(), frontierKey(s)
				t.onCommit(func() {
					if gc.overdue.IsZero() || gc.overdueFor != key {
						gc.overdue, gc.overdueFor = now, key
					}
					gc.overdueRank = rank
				})
			}
			return err
		}
	}
	outs, err := t.rekeyV2(g, gc, s, m, nil, nil)
	if err != nil {
		return err
	}
	t.onCommit(func() { gc.overdue = time.Time{} })
	t.sends = append(t.sends, outs...)
	return nil
}

// eventIndex maps the ids of st's kept events to them.
func eventIndex(st *membership.State) map[epoch.ID]*membership.Event {
	byID := make(map[epoch.ID]*membership.Event, len(st.Events))
	for i := range st.Events {
		byID[epoch.ID(st.Events[i].ID())] = &st.Events[i]
	}
	return byID
}

// causalPast returns the ids of the events reachable from parents (parents included).
func causalPast(byID map[epoch.ID]*membership.Event, parents []membership.EventID) map[epoch.ID]bool {
	return causalPastBy(func(id epoch.ID) (*membership.Event, bool) { e, ok := byID[id]; return e, ok }, parents)
}

// causalPastBy is causalPast over the events lookup finds.
func causalPastBy(lookup func(epoch.ID) (*membership.Event, bool), parents []membership.EventID) map[epoch.ID]bool {
	seen := map[epoch.ID]bool{}
	stack := make([]epoch.ID, 0, len(parents))
	for _, p := range parents {
		stack = append(stack, epoch.ID(p))
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if e, ok := lookup(p); ok {
			for _, q := range e.Parents {
				stack = append(stack, epoch.ID(q))
			}
		}
	}
	return seen
}

// lateJoiners returns the installations of members whose add is not in the causal past of
// a departure the current epoch has not healed yet (m.Uncovered): added concurrently with
// it, they may never learn it (a leave is sealed under an epoch they never held), so they
// stand aside when the designated installation is chosen.
func (t *txn) lateJoiners(st *membership.State, m *epochMeta) ([]*storage.InstallationRecord, error) {
	if len(m.Uncovered) == 0 {
		return nil, nil
	}
	byID := eventIndex(st)
	var pasts []map[epoch.ID]bool
	for _, u := range m.Uncovered {
		in, err := t.Installation(u)
		if err != nil {
			continue
		}
		for i := range st.Events {
			ev := &st.Events[i]
			if ev.Type == membership.MemberRemoved && ev.Members.Contains(in.Account) && len(ev.Parents) > 0 {
				p := causalPast(byID, ev.Parents)
				p[epoch.ID(ev.ID())] = true
				pasts = append(pasts, p)
			}
		}
	}
	if len(pasts) == 0 {
		return nil, nil
	}
	var late []string
	for _, acct := range st.Members.All() {
		// A based state's snapshot members were added in the past of its heads, which
		// every applied departure descends from (TestEpochsBasic: a newcomer holding the
		// group from a snapshot took every earlier member for a late joiner and healed a
		// leave beside the designated installation).
		known := st.Base != nil && (acct == st.Base.Creator || st.Base.Members.Contains(acct))
		for i := 0; !known && i < len(st.Events); i++ {
			ev := &st.Events[i]
			added := (ev.Type == membership.ChatCreated && ev.From == acct) ||
				(ev.Type == membership.MembersAdded && ev.Members.Contains(acct))
			if added && slices.ContainsFunc(pasts, func(p map[epoch.ID]bool) bool { return p[epoch.ID(ev.ID())] }) {
				known = true
				break
			}
		}
		if !known {
			late = append(late, acct)
		}
	}
	if len(late) == 0 {
		return nil, nil
	}
	ins, err := t.installationsOf(membership.MembersOf(late...))
	if err != nil {
		return nil, err
	}
	out := make([]*storage.InstallationRecord, len(ins))
	for i := range ins {
		out[i] = &ins[i]
	}
	return out, nil
}

// revokedV2 records revoked installations of a member as departed from a v2 group (see
// departV2) and heals at once if we are the designated installation.
func (t *txn) revokedV2(g *storage.GroupRecord, gc *groupCache, revoked []InstallationID) error {
	if len(revoked) == 0 || len(g.Schedule) == 0 || gc == nil {
		return nil
	}
	s, m, err := loadV2(g)
	if err != nil {
		return err
	}
	changed := false
	for _, id := range revoked {
		in, err := t.Installation(id)
		if err != nil {
			return err
		}
		if !slices.Contains(m.Uncovered, id) && reaches(s, m, in) {
			m.Uncovered = append(m.Uncovered, id)
		}
		// A frontier event the revoked installation authored (concurrently with its
		// revocation, applied here before it) was sealed under an epoch that installations
		// brought in since may never have held, and its Welcomes to them come from an
		// installation they now refuse: it counts as reaching no one but its author, so
		// the next rekey welcomes everyone to a frontier past it (without this, a sibling
		// that revoked it can stay on an epoch of its own; TestRecoverAndRevokeLostHolder).
		for _, f := range s.Frontier() {
			if cv, ok := m.Covered[f.String()]; ok && cv.Author == id && !cv.Departed {
				cv.Departed, cv.enc = true, nil
				changed = true
			}
		}
	}
	if len(m.Uncovered) == 0 && !changed {
		return nil
	}
	if err := m.store(g); err != nil {
		return err
	}
	if err := t.PutGroupState(g); err != nil {
		return err
	}
	t.healLater(g.ID)
	return nil
}
