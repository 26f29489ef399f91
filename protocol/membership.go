package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/topics"
)

// AddMembers adds accounts (known contacts) to a group: an admin-signed MEMBERS_ADDED
// event is sent to the group (one publish) with the newcomers' device lists, and each newcomer
// installation gets a Welcome. Existing members do not rotate their keys.
func (c *Client) AddMembers(ctx context.Context, id GroupID, members ...string) error {
	return c.changeMembership(ctx, id, func(t *txn, st *membership.State) ([]membership.Event, []string, error) {
		var add []string
		for _, m := range slices.Compact(slices.Sorted(slices.Values(members))) {
			if st.IsMember(m) {
				continue
			}
			if _, err := t.Contact(m); err != nil {
				return nil, nil, fmt.Errorf("%w: %s", ErrUnknownContact, m)
			}
			add = append(add, m)
		}
		if len(add) == 0 {
			return nil, nil, nil
		}
		return []membership.Event{{Type: membership.MembersAdded, Members: membership.MembersOf(add...)}}, add, nil
	})
}

// RemoveMembers removes accounts from a group. The removal is sent under the current
// keys (so the removed members learn it); every remaining installation then rotates its
// sender key before it next sends.
func (c *Client) RemoveMembers(ctx context.Context, id GroupID, members ...string) error {
	return c.changeMembership(ctx, id, func(t *txn, st *membership.State) ([]membership.Event, []string, error) {
		var evs []membership.Event
		for _, m := range slices.Compact(slices.Sorted(slices.Values(members))) {
			if st.IsMember(m) && m != c.acct.id {
				evs = append(evs, membership.Event{Type: membership.MemberRemoved, Members: membership.MembersOf([]string{m}...)})
			}
		}
		return evs, nil, nil
	})
}

// Leave leaves a group: the event is sent to the group, then our keys for it are deleted.
func (c *Client) Leave(ctx context.Context, id GroupID) error {
	return c.changeMembership(ctx, id, func(t *txn, st *membership.State) ([]membership.Event, []string, error) {
		return []membership.Event{{Type: membership.MemberRemoved, Members: membership.MembersOf([]string{c.acct.id}...)}}, nil, nil
	})
}

// SetName renames a group (admins).
func (c *Client) SetName(ctx context.Context, id GroupID, name string) error {
	return c.simpleEvent(ctx, id, membership.Event{Type: membership.NameChanged, Name: name})
}

// SetDescription sets a group's description (admins; a Chorus event).
func (c *Client) SetDescription(ctx context.Context, id GroupID, description string) error {
	return c.simpleEvent(ctx, id, membership.Event{Type: membership.DescriptionChanged, Description: description})
}

// SetColor sets a group's color (admins).
func (c *Client) SetColor(ctx context.Context, id GroupID, color string) error {
	return c.simpleEvent(ctx, id, membership.Event{Type: membership.ColorChanged, Color: color})
}

// SetImage sets a group's image (admins).
func (c *Client) SetImage(ctx context.Context, id GroupID, image []byte) error {
	return c.simpleEvent(ctx, id, membership.Event{Type: membership.ImageChanged, Image: slices.Clone(image)})
}

// AddAdmins makes members admins (admins).
func (c *Client) AddAdmins(ctx context.Context, id GroupID, members ...string) error {
	return c.changeMembership(ctx, id, func(t *txn, st *membership.State) ([]membership.Event, []string, error) {
		var add []string
		for _, m := range slices.Compact(slices.Sorted(slices.Values(members))) {
			if !st.IsMember(m) {
				return nil, nil, fmt.Errorf("%w: %s", ErrNotMember, m)
			}
			if !st.IsAdmin(m) {
				add = append(add, m)
			}
		}
		if len(add) == 0 {
			return nil, nil, nil
		}
		return []membership.Event{{Type: membership.AdminsAdded, Members: membership.MembersOf(add...)}}, nil, nil
	})
}

func (c *Client) simpleEvent(ctx context.Context, id GroupID, ev membership.Event) error {
	return c.changeMembership(ctx, id, func(*txn, *membership.State) ([]membership.Event, []string, error) {
		return []membership.Event{ev}, nil, nil
	})
}

// changeMembership signs the events build returns, checks that the chorus rules accept
// them, sends them as one group message, applies them locally and welcomes newcomers —
// all in one transaction — then publishes.
func (c *Client) changeMembership(ctx context.Context, id GroupID,
	build func(t *txn, st *membership.State) ([]membership.Event, []string, error)) error {
	var outs []*storage.OutboxRecord
	var msgID MessageID
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		g, gc, err := t.group(id)
		if err != nil {
			return err
		}
		if g.Status != GroupActive || !gc.isMember(c.acct.id) {
			return ErrNotMember
		}
		evs, newcomers, err := build(t, &gc.state)
		if err != nil || len(evs) == 0 {
			return err
		}
		if len(newcomers) > 0 { // the newcomers' Welcomes are a burst; the group's publishes go at once (spread.go)
			t.beginBurst()
			t.keepOutOfBurst(g.Topic)
		}
		lists, err := t.contactDeviceLists(membership.MembersOf(newcomers...))
		if err != nil {
			return err
		}
		b, err := t.signBatch(g, gc, evs, lists, -1, nil)
		if err != nil {
			return err
		}
		if gc.v2 {
			outs, err = t.changeMembershipV2(g, gc, b, newcomers)
			return err
		}
		next, body := b.next, b.body
		msgID, outs, err = t.sealGroup(g, gc, wire.ContentMembership, body)
		if err != nil {
			return err
		}
		g, err = t.Group(id) // sealGroup stored the advanced state
		if err != nil {
			return err
		}
		if err := t.applyMembership(g, gc, next, nil, true); err != nil {
			return err
		}
		if len(newcomers) > 0 {
			g, err = t.Group(id)
			if err != nil {
				return err
			}
			w, err := t.welcome(g, &next, newcomers)
			if err != nil {
				return err
			}
			outs = append(outs, w...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_ = msgID
	c.publishIDs(ctx, outs)
	return nil
}

// signedBatch is a batch of membership events signed for a group: the unsigned events and
// device lists it was made of, the signed events, the state they lead to and the
// membership body that carries them.
type signedBatch struct {
	evs    []membership.Event
	lists  [][]byte
	signed []membership.Event
	next   membership.State
	body   []byte
}

// signBatch signs evs for group g — the event at index key (-1: none) with the epoch prev
// digest of its key block (membership field 103, spec "Frontier") — checks that the rules
// apply them all (ErrNotAdmin otherwise) and builds their membership body with lists.
func (t *txn) signBatch(g *storage.GroupRecord, gc *groupCache, evs []membership.Event, lists [][]byte, key int, digest []byte) (*signedBatch, error) {
	if key >= 0 {
		evs = slices.Clone(evs)
		evs[key].EpochPrev = digest
	}
	signed, err := t.c.signEvents(g.ChatID, &gc.state, evs...)
	if err != nil {
		return nil, err
	}
	next, err := membership.Extend(&gc.state, signed)
	if err != nil {
		return nil, err
	}
	if !allApplied(&next, signed) {
		return nil, ErrNotAdmin
	}
	boundPending(&next)
	update, err := (&membership.Message{ChatID: g.ChatID, Events: signed}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	body, err := (&wire.Membership{Update: update, DeviceLists: lists}).Marshal()
	if err != nil {
		return nil, err
	}
	return &signedBatch{evs: evs, lists: lists, signed: signed, next: next, body: body}, nil
}

// applyMembership moves group g from its cached state to next: stores the event log and
// metadata, records device lists of added members, drops the keys of removed installations and
// schedules a rotation, or winds the group down if we are no longer a member.
func (t *txn) applyMembership(g *storage.GroupRecord, gc *groupCache, next membership.State, lists [][]byte, local bool) error {
	c := t.c
	old := gc.state
	ch := membership.Diff(old, next)
	now := c.now()
	for _, raw := range lists {
		v, err := verifyDeviceList(raw, now)
		if err != nil || !slices.Contains(ch.MembersAdded, v.Account) {
			continue
		}
		if err := t.storeDeviceList(v, raw, listFrom{}, now); err != nil {
			return err
		}
	}
	prev := t.stateOf(gc)
	reWelcome := false
	setMeta(g, &next)
	g.UpdatedAt = now
	ev := &MembershipChanged{Group: g.ID, MembersAdded: ch.MembersAdded, MembersRemoved: ch.MembersRemoved,
		AdminsAdded: ch.AdminsAdded, AdminsRemoved: ch.AdminsRemoved, Name: next.Name, Description: next.Description, Color: next.Color}
	if !next.IsMember(c.acct.id) {
		// We left or were removed: forget every key of the group.
		ev.Removed = true
		g.Status = GroupRemoved
		if slices.Contains(ch.MembersRemoved, c.acct.id) && local {
			g.Status = GroupLeft
		}
		g.Sender, g.Rotate, g.Distribute = nil, false, false
		if isV2(g) {
			if err := t.leaveV2(g, gc); err != nil {
				return err
			}
		}
		recs, err := t.Receivers(g.ID)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := t.DeleteReceiver(g.ID, r.Installation); err != nil {
				return err
			}
		}
		if err := t.ClearDistributed(g.ID); err != nil {
			return err
		}
	} else if isV2(g) {
		// Key schedule v2: no rotation; a departure no key event excluded yet makes the
		// epoch unhealed (healed by the designated installation, or before our next send).
		if !local {
			if err := t.departV2(g, gc, ch.MembersRemoved); err != nil {
				return err
			}
		}
		// An override for good of a key event we applied may come with no key event: our
		// kept seeds are cut now, not at our next key event (fix 39).
		if err := t.cutKept(g, gc, &next); err != nil {
			return err
		}
		reWelcome = !local
	} else {
		for _, m := range ch.MembersRemoved {
			ins, err := t.InstallationsOf(m)
			if err != nil {
				return err
			}
			ids := make([]InstallationID, 0, len(ins))
			for _, in := range ins {
				ids = append(ids, in.ID)
			}
			if err := t.dropReceivers(g.ID, ids); err != nil {
				return err
			}
			g.Rotate = true
		}
		if len(ch.MembersAdded) > 0 {
			g.Distribute = true
		}
	}
	if err := t.storeLog(g, prev, &next); err != nil {
		return err
	}
	if reWelcome {
		outs, err := t.reWelcomeConcurrent(g, prev, &next)
		if err != nil {
			return err
		}
		t.sends = append(t.sends, outs...)
	}
	members, status := membersAfter(gc.members, old.Members, next.Members), g.Status
	reset := len(ch.MembersAdded) > 0 || len(ch.MembersRemoved) > 0
	t.onCommit(func() {
		gc.state, gc.members, gc.status = next, members, status
		if reset {
			// The heal check reads the membership too (coverage gaps: an add whose key
			// event we did not apply): the next send runs it again.
			gc.healthy = healedState{}
		}
	})
	if t.states == nil {
		t.states = map[GroupID]*membership.State{}
	}
	t.states[g.ID] = &next
	if g.Status != GroupActive {
		t.topicsChanged = true
	}
	if !ch.Empty() || old.Name != next.Name || old.Description != next.Description || old.Color != next.Color ||
		!slices.Equal(old.Image, next.Image) || ev.Removed {
		t.emit(ev)
	}
	return nil
}

// receiveMembership applies a membership update received in a group message.
func (t *txn) receiveMembership(g *storage.GroupRecord, gc *groupCache, body []byte) error {
	m, err := wire.ParseMembership(body)
	if err != nil {
		return err
	}
	if t.appliedUpdate(gc, m.Update) {
		// The key event's check (openGroupMessageV2) applied this update already.
		u := t.updated
		t.updated = nil
		next := u.next
		boundPending(&next)
		return t.applyMembership(g, gc, next, m.DeviceLists, false)
	}
	if um, err := membership.ParseMessage(m.Update); err == nil && len(um.Events) == 0 {
		return t.storeMemberCards(gc, m.DeviceLists) // a creation's cards (spec: "Welcome v2")
	}
	next, _, err := membership.Update(&gc.state, m.Update, t.c.acct.id, t.c.now(), membership.ChorusRules())
	if err != nil {
		return nil // nothing applicable: the message itself is still a valid message
	}
	boundPending(&next)
	return t.applyMembership(g, gc, next, m.DeviceLists, false)
}

// appliedUpdate reports whether the key event's check (openGroupMessageV2) applied the
// membership update already (receiveMembership then takes its result).
func (t *txn) appliedUpdate(gc *groupCache, update []byte) bool {
	u := t.updated
	return u != nil && u.base == &gc.state && bytes.Equal(u.update, update)
}

// putStateBefore stores g, whose clock and causal history a group message just advanced,
// before its content is acted on — unless the content is a membership update the key
// event's check applied already: applyMembership then stores g whole, and the group's row
// (~25 KB of key schedule bookkeeping in a group of 1000) is written once, not twice.
func (t *txn) putStateBefore(g *storage.GroupRecord, gc *groupCache, gp *wire.GroupPlaintext) error {
	if gp.Type == wire.ContentMembership {
		if m, err := wire.ParseMembership(gp.Body); err == nil && t.appliedUpdate(gc, m.Update) {
			return nil
		}
	}
	return t.PutGroupState(g)
}

// handleWelcome joins (or refreshes) a group from a Welcome sent by from.
func (t *txn) handleWelcome(from string, w *wire.Welcome) error {
	c := t.c
	now := c.now()
	var stored *membership.State
	g, err := t.Group(w.GroupID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		g = nil
	case err != nil:
		return err
	}
	if g != nil && g.ChatID != w.ChatID {
		return errors.New("protocol: welcome for a known group id with another chat id")
	}
	var gc *groupCache
	if g != nil {
		// Merge with what we hold, also for a group we left or were removed from: a Welcome
		// carrying a stale or truncated log must not undo our removal.
		if _, gc, err = t.group(g.ID); err != nil {
			return err
		}
		stored = &gc.state
	}
	var st membership.State
	if len(w.Membership) == 0 {
		// A continuation part: it needs the group its first part created.
		if g == nil || g.Status != GroupActive {
			return errPending
		}
		st = *stored
	} else if st, _, err = membership.Update(stored, w.Membership, c.acct.id, now, membership.ChorusRules()); err != nil {
		return fmt.Errorf("protocol: welcome membership: %w", err)
	}
	boundPending(&st)
	if g != nil && g.Status != GroupActive && !st.IsMember(c.acct.id) {
		// Still not a member once merged: keep the merged log, stay out.
		if g.Events, err = encodeEvents(&st); err != nil {
			return err
		}
		setMeta(g, &st)
		g.UpdatedAt = now
		if err := t.PutGroup(g); err != nil {
			return err
		}
		ngc := *gc
		ngc.state, ngc.members = st, memberSet(&st)
		t.onCommit(func() { *gc = ngc })
		c.log.Debug("welcome for a group we are no longer in: log merged, not joined")
		return nil
	}
	// An admin welcomes; so may another installation of our own account (linking, or
	// catching up an installation the inviter did not know).
	if st.ChatID != w.ChatID || !st.IsMember(c.acct.id) || !(st.IsAdmin(from) || from == c.acct.id) {
		return errors.New("protocol: welcome not from an admin or not naming us")
	}
	for _, raw := range w.DeviceLists {
		v, err := verifyDeviceList(raw, now)
		if err != nil || !st.IsMember(v.Account) {
			continue
		}
		if err := t.storeDeviceList(v, raw, listFrom{}, now); err != nil {
			return err
		}
	}
	joined := g == nil || g.Status != GroupActive
	if joined {
		g = &storage.GroupRecord{ID: w.GroupID, ChatID: w.ChatID, Secret: w.Secret, Buckets: w.Buckets, Distribute: true, JoinedAt: now}
		g.Topic = topics.GroupTopic(w.Secret[:], w.Buckets)
		setMeta(g, &st)
		if g.Events, err = encodeEvents(&st); err != nil {
			return err
		}
		g.UpdatedAt = now
		if err := t.PutGroup(g); err != nil {
			return err
		}
	} else if len(w.Membership) > 0 {
		// A group we are in: the Welcome's event log may carry changes we have not seen
		// (a sibling relaying, catching up): they take the one path every membership
		// change takes, which drops removed installations' receivers and rotates.
		gc := c.groups[g.ID]
		if gc == nil {
			if gc, err = t.cacheGroup(g); err != nil {
				return err
			}
		}
		if err := t.applyMembership(g, gc, st, nil, false); err != nil {
			return err
		}
	}
	// Forwarded sender-key states are trusted only from the Welcome that makes us join
	// (and its continuation parts, for senders we hold nothing of yet): applied to a
	// receiver we already have, a forwarder could poison an epoch with a wrong chain key.
	continuing := !joined && len(w.Membership) == 0 && now.Sub(g.JoinedAt) <= PendingTTL
	took := false // a distribution of a sender we held nothing of
	for _, raw := range w.Distributions {
		if !joined && !continuing {
			break
		}
		d, err := senderkeys.ParseDistribution(raw)
		if err != nil {
			continue
		}
		if !joined {
			if _, err := t.Receiver(g.ID, InstallationID(d.Installation)); err == nil {
				continue
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		if err := t.processDistribution(g, &st, d); err != nil {
			c.log.Debug("welcome: distribution rejected", "err", err)
			continue
		}
		took = true
	}
	if _, err := t.cacheGroup(g); err != nil {
		return err
	}
	if !joined && !took {
		// A Welcome that neither joined us nor gave us a sender's keys opens nothing that
		// came before it: no catch-up (review 6, TestSecWelcomeCatchUpNoOpV1: each one from
		// an admin cost a fetch of our whole query set from its claimed time, the history
		// window, and a cleared junk filter).
		return nil
	}
	if err := t.catchUpFromWelcome(g.Topic, w.SentAt); err != nil {
		return err
	}
	if joined {
		t.emit(&GroupJoined{Group: g.ID, Name: st.Name, Inviter: from})
		if from != c.acct.id {
			return t.catchUpSiblings(g, &st, w)
		}
	}
	return nil
}

// processDistribution feeds a distribution (from a slot or a Welcome) to the receiver of
// its installation, which must belong to a member; the receiver verifies the owner's
// signature.
func (t *txn) processDistribution(g *storage.GroupRecord, st *membership.State, d *senderkeys.Distribution) error {
	inst := InstallationID(d.Installation)
	if inst == t.c.acct.inst || string(d.Group) != string(g.ID[:]) {
		return errors.New("protocol: distribution for another group or from ourselves")
	}
	in, err := t.Installation(inst)
	if err != nil {
		return fmt.Errorf("protocol: distribution from unknown installation: %w", err)
	}
	if in.Revoked || !st.IsMember(in.Account) {
		return ErrNotMember
	}
	if err := t.checkKeyOwner(g, inst, d.KeyID); err != nil {
		return err
	}
	rec, err := t.Receiver(g.ID, inst)
	var rcv *senderkeys.Receiver
	switch {
	case errors.Is(err, storage.ErrNotFound):
		rcv = senderkeys.NewReceiver(g.ID[:], d.Installation, in.Signing)
		rec = &storage.ReceiverRecord{Group: g.ID, Installation: inst, Account: in.Account}
	case err != nil:
		return err
	default:
		rcv = new(senderkeys.Receiver)
		if err := rcv.UnmarshalBinary(rec.State); err != nil {
			return err
		}
	}
	if err := rcv.Process(d); err != nil {
		return err
	}
	if rec.State, err = rcv.MarshalBinary(); err != nil {
		return err
	}
	if err := t.PutReceiver(rec); err != nil {
		return err
	}
	return t.AddReceiverKey(g.ID, d.KeyID, inst)
}

// checkKeyOwner refuses a distribution by inst of a key id that is ours or that another
// installation of the group already holds (spec: protocol, "Group messages": a key id
// belongs to the first installation whose distribution of it we accept). Without this a
// member could take over another member's key id and have its messages refused.
func (t *txn) checkKeyOwner(g *storage.GroupRecord, inst InstallationID, key senderkeys.KeyID) error {
	if g.Sender != nil {
		var own senderkeys.Sender
		if own.UnmarshalBinary(g.Sender) == nil && own.KeyID() == key {
			return storage.ErrKeyIDTaken
		}
	}
	rec, err := t.ReceiverByKey(g.ID, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return err
	case rec.Installation != inst:
		return storage.ErrKeyIDTaken
	}
	return nil
}
