// Key schedule v2, membership: changes, creation, leaving and departure, recent events.

package protocol

import (
	"bytes"
	"errors"
	"io"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// changeMembershipV2 is the v2 part of changeMembership: the membership message sealed
// under our current epoch (healed first if need be), with the key block of its key event
// (if it has one) in the same publish, the schedule moved to the new epoch, newcomers
// welcomed with their join. The key event is signed again once its prev (our frontier
// after the heal) is known, carrying its epoch prev digest (field 103): its id commits to
// its key block's prev (spec "Frontier": no cycle of prev).
func (t *txn) changeMembershipV2(g *storage.GroupRecord, gc *groupCache, b *signedBatch, newcomers []string) ([]*storage.OutboxRecord, error) {
	c := t.c
	kev, isKey := keyEventOf(b.signed)
	isKey = isKey && b.next.IsMember(c.acct.id)
	kind := sendMessage
	if isKey {
		kind = sendKeyEvent
	}
	// While the epoch is unhealed prepareV2 heals first: a key event too is then sealed
	// under the healed epoch, never under one a departed installation may compute.
	vc, outs, err := t.prepareV2(g, gc, kind)
	if err != nil {
		return nil, err
	}
	var frames []*wire.FrameV2
	var msg []byte
	var id MessageID
	var join *epoch.Join
	var gaps []*storage.InstallationRecord
	if isKey {
		// Installations a frontier event missed cannot open this publish (sealed under our
		// epoch): like newcomers they get the key event's join in a Welcome.
		if gaps, err = t.coverageGaps(gc, vc.s, vc.m); err != nil {
			return nil, err
		}
		prev := keyEventPrev(vc.s, vc.m, t.stateOf(gc)) // our frontier, and refused key events others hold
		if c.hookPrev != nil {
			prev = c.hookPrev(prev)
		}
		if !c.hookMemberUncommitted {
			i := slices.IndexFunc(b.signed, func(ev membership.Event) bool { return ev.ID() == kev.ID() })
			d := epoch.MemberPrevDigest(prev)
			if b, err = t.signBatch(g, gc, b.evs, b.lists, i, d[:]); err != nil {
				return nil, err
			}
			kev = b.signed[i]
		}
		next := &b.next
		gaps = slices.DeleteFunc(gaps, func(in *storage.InstallationRecord) bool { return !next.IsMember(in.Account) })
		if msg, id, err = t.sealMessageV2(g, &vc.ep, wire.ContentMembership, b.body); err != nil {
			return nil, err
		}
		E := epoch.ID(kev.ID())
		var seed epoch.Seed
		if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
			return nil, err
		}
		if err := vc.s.Apply(epoch.Event{ID: E, Prev: prev}); err != nil {
			return nil, err
		}
		published := prev
		if c.hookMemberBlockPrev != nil {
			published = c.hookMemberBlockPrev(E, slices.Clone(prev))
		}
		if err := vc.s.SetSeed(E, &seed); err != nil {
			return nil, err
		}
		all, err := t.installationsOf(next.Members)
		if err != nil {
			return nil, err
		}
		// Installations of accounts added now get the seed in their Welcome.
		var existing []storage.InstallationRecord
		for _, in := range all {
			if !slices.Contains(newcomers, in.Account) {
				existing = append(existing, in)
			}
		}
		kb := epoch.KeyBlock{Kind: epoch.KindMembership, Author: epoch.Installation(c.acct.inst), Event: E, Prev: published}
		slots, _, err := t.buildKeySlots(g, &kb, &seed, existing)
		if err != nil {
			return nil, err
		}
		if frames, err = packKeyFrames(kb, slots, msg, c.frameLimit, c.blockSigner(g.ID)); err != nil {
			return nil, err
		}
		cv := newCoverage(E, kb.LegacyHints, c.acct.inst, all, newcomers)
		cv.Outer = sealedOther(vc.s.Group(), prev, vc.ep.ID)
		vc.m.Covered[E.String()] = cv
		c.log.Debug("membership key event authored", "group", g.ID.String()[:8], "event", shortID(E), "prev", shortIDs(prev),
			"outer", shortID(vc.ep.ID), "slots", len(slots), "newcomers", len(newcomers), "gaps", len(gaps))
		if kev.Type == membership.MemberRemoved {
			vc.m.Departs = append(vc.m.Departs, E.String())
		}
		vc.m.Uncovered = nil
		if len(newcomers) > 0 || len(gaps) > 0 {
			j, err := vc.s.JoinFor(E, &seed)
			if err != nil {
				return nil, err
			}
			join = &j
		}
	} else {
		if msg, id, err = t.sealMessageV2(g, &vc.ep, wire.ContentMembership, b.body); err != nil {
			return nil, err
		}
		frames = []*wire.FrameV2{{Message: msg}}
	}
	next, signed := b.next, b.signed
	o, err := t.queueFrames(g, &vc.ep, frames, &id)
	if err != nil {
		return nil, err
	}
	outs = append(outs, o...)
	if err := t.storeSchedule(g, gc, vc.s, vc.m); err != nil {
		return nil, err
	}
	if err := t.PutGroupState(g); err != nil {
		return nil, err
	}
	full, err := t.Group(g.ID)
	if err != nil {
		return nil, err
	}
	if err := t.applyMembership(full, gc, next, nil, true); err != nil {
		return nil, err
	}
	if join != nil {
		w, err := t.welcomeV2(full, &next, newcomers, *join, signed)
		if err != nil {
			return nil, err
		}
		outs = append(outs, w...)
		if w, err = t.welcomeV2To(full, &next, gaps, *join, ""); err != nil {
			return nil, err
		}
		outs = append(outs, w...)
	}
	return outs, nil
}

// createGroupV2 sets up the key schedule of a new group (the creation is its first key
// event). Above fullCreationMax installations it does so in O(N) bytes (spec: protocol, "Key schedule v2", "Welcome v2"): the creation
// events and every member's device list are published once in the group, under the new
// epoch, as membership messages (the first with the events, the others with an empty
// event list), and every member installation gets a Welcome v2 with its join and no log
// or device list (a creation Welcome), whose size does not depend on N.
func (t *txn) createGroupV2(g *storage.GroupRecord, gc *groupCache, st *membership.State, created membership.Event, members []string) ([]*storage.OutboxRecord, error) {
	c := t.c
	E := epoch.ID(created.ID())
	var seed epoch.Seed
	if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
		return nil, err
	}
	s := epoch.NewSchedule(epoch.ID(g.ID))
	if err := s.Apply(epoch.Event{ID: E}); err != nil {
		return nil, err
	}
	if err := s.SetSeed(E, &seed); err != nil {
		return nil, err
	}
	all, err := t.installationsOf(st.Members)
	if err != nil {
		return nil, err
	}
	m := &epochMeta{V: 2, Covered: map[string]*coverage{E.String(): newCoverage(E, false, c.acct.inst, all, members)}}
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return nil, err
	}
	if err := t.PutGroup(g); err != nil {
		return nil, err
	}
	ins, err := t.installationsOfAccounts(members)
	if err != nil {
		return nil, err
	}
	if len(ins) <= fullCreationMax {
		// A small group: full Welcomes (log and every card), which need no store to join.
		j, err := s.JoinFor(E, &seed)
		if err != nil {
			return nil, err
		}
		return t.welcomeV2(g, st, members, j, nil)
	}
	ep, err := s.Current()
	if err != nil {
		return nil, err
	}
	cards, err := t.contactDeviceLists(st.Members)
	if err != nil {
		return nil, err
	}
	bodies, err := creationBodies(st, cards, c.frameLimit-creationFrameOverhead)
	if err != nil {
		return nil, err
	}
	var outs []*storage.OutboxRecord
	for _, body := range bodies {
		msg, id, err := t.sealMessageV2(g, &ep, wire.ContentMembership, body)
		if err != nil {
			return nil, err
		}
		o, err := t.queueFrames(g, &ep, []*wire.FrameV2{{Message: msg}}, &id)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o...)
	}
	if err := t.PutGroupState(g); err != nil {
		return nil, err
	}
	j, err := s.JoinFor(E, &seed)
	if err != nil {
		return nil, err
	}
	jb, err := j.MarshalBinary()
	if err != nil {
		return nil, err
	}
	body, err := (&wire.WelcomeV2{GroupID: g.ID, ChatID: g.ChatID, Secret: g.Secret, Buckets: g.Buckets,
		SentAt: uint64(c.now().UnixMilli()), Join: jb}).Marshal()
	if err != nil {
		return nil, err
	}
	w, err := t.sendWelcomesV2(ins, [][]byte{body}, "")
	if err != nil {
		return nil, err
	}
	return append(outs, w...), nil
}

// leaveV2 winds down our key schedule state of a group we are no longer in.
func (t *txn) leaveV2(g *storage.GroupRecord, gc *groupCache) error {
	g.Schedule = nil
	if err := t.retireChains(g.ID, nil); err != nil {
		return err
	}
	t.setLive(gc, nil, nil)
	return nil
}

// departV2 records the installations of removed accounts as uncovered: until a key event
// excludes them, the current epoch may be theirs (a leave carries no seed).
func (t *txn) departV2(g *storage.GroupRecord, gc *groupCache, removed []string) error {
	if len(removed) == 0 || len(g.Schedule) == 0 {
		return nil
	}
	if gc != nil && t.departLater == gc && t.departing == nil && !t.c.departNow {
		// The removal's key block, in the same publish, records the departure with its own
		// bookkeeping (processKeyBlock): one encoding and write of it, not two (issue 13).
		t.departing = removed
		return nil
	}
	s, m, err := t.loadV2(g)
	if err != nil {
		return err
	}
	if err := t.noteDeparture(gc, s.Frontier(), m, removed); err != nil {
		return err
	}
	if err := t.departMissing(s, m, removed); err != nil {
		return err
	}
	return t.storeMeta(g, m)
}

// departMissing marks as a departed author's (coverage Departed) each frontier event
// whose seed we lack and whose author is an installation of a removed account (a rekey
// it made concurrently with its removal or before its leave, applied here before them):
// no one will send us that seed — its author is no member now, its Welcomes are refused,
// no member forwards — so waiting for it heals nothing, and the heal, sealed under an
// epoch computed without the event (rekeyOuter), needs none of it, as for a revoked
// installation's event (revokedV2). Left as they were: events whose seed we hold (they
// may be in our current epoch, and every member that holds it is no gap). Review 19,
// TestHealDepartedRemovedAuthorSeed.
func (t *txn) departMissing(s *epoch.Schedule, m *epochMeta, removed []string) error {
	for _, id := range s.Missing() {
		cv := m.Covered[id.String()]
		if cv == nil || cv.Departed {
			continue
		}
		in, err := t.Installation(cv.Author)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if slices.Contains(removed, in.Account) {
			cv.Departed, cv.enc = true, nil
		}
	}
	return nil
}

// noteDeparture adds to m's uncovered installations those of the removed accounts that
// every event of frontier f reached (see reaches), in order.
func (t *txn) noteDeparture(gc *groupCache, f epoch.Frontier, m *epochMeta, removed []string) error {
	for _, acct := range removed {
		ins, ok := t.accountInstallations(gc, acct) // the members' cached list (no query)
		if !ok {
			var err error
			if ins, err = t.InstallationsOf(acct); err != nil {
				return err
			}
		}
		for i := range ins {
			if !slices.Contains(m.Uncovered, ins[i].ID) && reachesFrontier(f, m, &ins[i]) {
				m.Uncovered = append(m.Uncovered, ins[i].ID)
			}
		}
	}
	slices.SortFunc(m.Uncovered, func(a, b InstallationID) int { return bytes.Compare(a[:], b[:]) })
	return nil
}

// flushDeparture records a departure left to a key block (departV2) that did not record
// it (its block not applied): as departV2 would have.
func (t *txn) flushDeparture(gc *groupCache) error {
	removed := t.departing
	t.departing = nil
	if removed == nil {
		return nil
	}
	g, err := t.GroupState(gc.id)
	if err != nil {
		return err
	}
	if len(g.Schedule) == 0 {
		return nil
	}
	if err := t.departV2(g, gc, removed); err != nil {
		return err
	}
	return t.PutGroupState(g)
}

// healEvents and healEventBytes bound the latest applied membership events a healing
// rekey repeats (the newest one always).
const (
	healEvents     = 16
	healEventBytes = 16 << 10
)

// recentEventsBody encodes a membership content body with the latest applied events of st,
// no cards.
func (t *txn) recentEventsBody(st *membership.State) ([]byte, error) {
	var evs []membership.Event
	size := 0
	for i := len(st.Events) - 1; i >= 0 && len(evs) < healEvents; i-- {
		if size += 2 * (len(st.Events[i].Signature) + st.Events[i].PayloadSize()); size > healEventBytes && len(evs) > 0 {
			break
		}
		evs = append(evs, st.Events[i])
	}
	slices.Reverse(evs)
	update, err := (&membership.Message{ChatID: st.ChatID, Events: evs}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return (&wire.Membership{Update: update}).Marshal()
}
