package protocol

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
)

var (
	errSeen    = errors.New("protocol: already processed")
	errPending = errors.New("protocol: cannot be opened yet")
	errOwn     = errors.New("protocol: our own message")
	errForged  = errors.New("protocol: forged rotation block")
)

// process handles one envelope: authenticate on copies, then commit the new state, the
// replay marker and the message in one transaction. Input that no key of ours opens gets
// no stored state, only a place in the in-memory junk filter (flood.go); anything that
// fails after a key opened it only gets a replay marker, so it is skipped cheaply next
// time.
// It reports whether new keys arrived (pending envelopes should be retried).
func (c *Client) process(ctx context.Context, topic string, payload []byte) (newKeys bool) {
	hash := c.hashers.envelopeHash(topic, payload)
	if c.junk.has(hash) || c.ownSent.has(hash) {
		return false
	}
	// What the transaction leaves for its outcome (settleInbound), in one object the
	// closure captures (two variables captured would be two allocations).
	out := attempt{hash: hash}
	err := c.txInbound(ctx, topic, payload, &out, func(t *txn) error {
		// The replay marker, checked and set at once (taken back if anything below fails).
		if fresh, err := t.MarkSeenOnce(hash, c.now()); err != nil || !fresh {
			if err == nil {
				err = errSeen
			}
			return err
		}
		err := t.dispatch(topic, payload)
		if errors.Is(err, errPending) {
			// Everything dispatch did is rolled back: an inbox frame's session must not
			// count it as received, or its retry finds neither its hint nor its message
			// key (TestInboxPendingFrameRetried). The envelope is kept (settleInbound).
			out.claim = t.claim
			if out.claim == nil {
				out.claim = []byte(topic)
			}
			return errPending
		}
		if err != nil {
			return err
		}
		if err := t.clearPending(hash); err != nil {
			return err
		}
		out.newKeys = t.newKeys
		return nil
	})
	if c.hookAttempted != nil {
		c.hookAttempted(topic, payload)
	}
	if err == nil {
		c.taken.Add(1)
	}
	switch {
	case err == nil, errors.Is(err, errSeen), errors.Is(err, ErrClosed), ctx.Err() != nil:
		return out.newKeys
	}
	return false
}

// retryPending retries stored envelopes until no more can be opened.
func (c *Client) retryPending(ctx context.Context) {
	for round := 0; round < 8 && ctx.Err() == nil; round++ {
		if c.pendingNone() {
			return // a committed read found none and none was put since (hotpath_views.go)
		}
		var list []storage.PendingRecord
		if err := c.tx(ctx, func(t *txn) error {
			var err error
			list, err = t.Pending(4096)
			return err
		}); err != nil {
			return
		}
		progress := false
		now := c.now()
		for _, p := range list {
			if now.Sub(p.ReceivedAt) > PendingTTL {
				_ = c.tx(ctx, func(t *txn) error { return t.DeletePending(p.Hash) })
				continue
			}
			if c.process(ctx, p.Topic, p.Payload) {
				progress = true
			}
		}
		if !progress {
			return
		}
	}
}

func (t *txn) dispatch(topic string, payload []byte) error {
	c := t.c
	if c.acct == nil {
		if c.link != nil && topic == c.link.topic {
			return t.handleLinkInbox(payload)
		}
		return errNotForUs
	}
	if topic == c.hot.inboxTopic(c.acct) || (c.linkTopic != "" && topic == c.linkTopic) {
		return t.handleInbox(payload)
	}
	if gids := c.topics[topic]; len(gids) > 0 {
		return t.handleGroup(gids, payload)
	}
	return errNotForUs
}

// handleInbox processes an inbox frame.
func (t *txn) handleInbox(payload []byte) error {
	c := t.c
	f, err := wire.ParseInboxFrame(payload)
	if err != nil {
		return err
	}
	var s *sess
	var pt []byte
	switch f.Kind {
	case wire.KindSession:
		var ref hintRef
		if s, ref, err = t.inboxSession(f.Hint); err != nil {
			return err
		}
		if pt, err = t.decryptOn(s, f.Body, adInbox, nil); err != nil {
			return err
		}
		if pt, err = wire.UnpadInbox(pt); err != nil {
			return err
		}
		if s.hc != nil {
			s.hc.received(ref.n)
			s.hintsMoved = true
		}
		if err := t.saveSession(s, false); err != nil {
			return err
		}
	case wire.KindInitial:
		var p *wire.InitialPayload
		if t.pre != nil && t.pre.initialDone {
			p, err = t.pre.initial, t.pre.initialErr // opened by keyless (flood.go)
		} else {
			p, err = t.unsealInitial(f)
		}
		if errors.Is(err, errNotForUs) {
			return errNoKey // no signed prekey of ours opens it
		}
		if err != nil {
			return err
		}
		var otk *uint32
		s, _, otk, err = t.respond(p.Header, false)
		if err != nil {
			return err
		}
		if pt, err = t.decryptOn(s, p.Message, adInbox, nil); err != nil {
			return err
		}
		if pt, err = wire.UnpadInbox(pt); err != nil {
			return err
		}
		if s.rec.ID == 0 {
			pm, err := wire.ParsePairwiseMessage(pt)
			if err != nil || pm.DeviceList == nil {
				return errBadInitial
			}
			v, err := verifyDeviceList(pm.DeviceList, c.now())
			if err != nil || !listsInitiator(v, s.rec.Remote, p.Header) {
				return errBadInitial
			}
			if prev, err := t.Installation(s.rec.Remote); err == nil && prev.Account != v.Account {
				return errBadInitial
			}
			if err := t.storeDeviceList(v, pm.DeviceList, listFrom{owner: true}, c.now()); err != nil {
				return err
			}
			s.rec.RemoteAccount = v.Account
			if err := t.adoptResponder(s, otk); err != nil {
				return err
			}
		} else if err := t.saveSession(s, false); err != nil {
			return err
		}
	}
	pm, err := wire.ParsePairwiseMessage(pt)
	if err != nil {
		return err
	}
	return t.handlePairwise(s.rec.RemoteAccount, s.rec.Remote, pm)
}

// listsInitiator reports whether the device list lists the X3DH initiator's identity, unrevoked and
// bound to the account by its binding signature.
func listsInitiator(v *devicelist.Verified, inst InstallationID, hdr []byte) bool {
	// hdr = version || initiator identity (id 16 || dh 32 || signing 33) || ...
	if len(hdr) < 1+81 {
		return false
	}
	for _, in := range v.List.Entries {
		if InstallationID(in.ID) == inst && !in.Revoked && v.Bound[in.ID] && string(in.ID[:]) == string(hdr[1:17]) &&
			string(in.DH[:]) == string(hdr[17:49]) && string(in.Signing[:]) == string(hdr[49:82]) {
			return true
		}
	}
	return false
}

// handlePairwise acts on a decrypted pairwise message from an installation of account from.
func (t *txn) handlePairwise(from string, inst InstallationID, pm *wire.PairwiseMessage) error {
	c := t.c
	t.claim = append([]byte("inst"), inst[:]...)
	if pm.Type == wire.PairwiseDevices {
		return t.handleDevices(from, inst, pm)
	}
	if pm.DeviceList != nil {
		if v, err := verifyDeviceList(pm.DeviceList, c.now()); err == nil && v.Account == from {
			if err := t.storeDeviceList(v, pm.DeviceList, listFrom{owner: true}, c.now()); err != nil {
				return err
			}
		}
	}
	switch pm.Type {
	case wire.PairwiseWelcome:
		w, err := wire.ParseWelcome(pm.Body)
		if err != nil {
			return err
		}
		if err := t.handleWelcome(from, w); err != nil {
			return err
		}
		t.newKeys = true
	case wire.PairwiseWelcomeV2:
		w, err := wire.ParseWelcomeV2(pm.Body)
		if err != nil {
			return err
		}
		if err := t.handleWelcomeV2(from, inst, w); err != nil {
			return err
		}
		t.newKeys = true
	case wire.PairwiseDistribution:
		d, err := senderkeys.ParseDistribution(pm.Body)
		if err != nil {
			return err
		}
		var gid GroupID
		copy(gid[:], d.Group)
		g, gc, err := t.group(gid)
		if err != nil || g.Status != GroupActive || InstallationID(d.Installation) != inst {
			return errNotForUs
		}
		if err := t.processDistribution(g, &gc.state, d); err != nil {
			return err
		}
		t.newKeys = true
	case wire.PairwiseDeviceList:
		v, err := verifyDeviceList(pm.Body, c.now())
		if err != nil || v.Account != from {
			return errNotForUs
		}
		return t.storeDeviceList(v, pm.Body, listFrom{}, c.now())
	case wire.PairwiseLink:
		return t.handleLink(from, pm)
	case wire.PairwiseContacts:
		return t.handleContactSync(from, pm) // contacts.go
	case wire.PairwiseAnnounceKey:
		return t.handleAnnounceKey(from, pm)
	}
	return nil
}

// handleGroup processes a group publish on a topic shared by gids.
func (t *txn) handleGroup(gids []GroupID, payload []byte) error {
	c := t.c
	var gc *groupCache
	var f *wire.GroupFrame
	if t.pre != nil {
		if t.pre.f2 != nil {
			return t.handleGroupV2(t.pre.gc, t.pre.f2, t.pre.ep)
		}
		gc, f = t.pre.gc, t.pre.f // opened by keyless (flood.go)
	}
	for _, id := range gids {
		if gc != nil {
			break
		}
		cand := c.groups[id]
		if cand == nil || cand.status != GroupActive {
			continue
		}
		if cand.v2 {
			if fr, ep, ok := openFrameV2(cand, payload); ok {
				return t.handleGroupV2(cand, fr, ep)
			}
			continue
		}
		if fr, ok := openFrame(cand, payload); ok {
			gc, f = cand, fr
			break
		}
	}
	if gc == nil {
		return errNotForUs
	}
	g, err := t.GroupState(gc.id) // without the event log: not per-member work
	if err != nil {
		return err
	}
	if f.Rotation != nil {
		if f.Message != nil {
			// A frame carrying both is its sender's: the message is sealed under the key
			// the block distributes. Anything else is forged.
			if h, err := senderkeys.ParseHeader(f.Message); err != nil || h.KeyID != f.Rotation.Public.KeyID {
				return errForged
			}
		}
		if err := t.processRotation(g, gc, f.Rotation); errors.Is(err, errForged) {
			return err
		} else if err != nil {
			c.log.Debug("rotation block: no usable slot", "err", err)
		}
	}
	if f.Message == nil {
		return nil
	}
	return t.openGroupMessage(g, gc, f.Message)
}

// processRotation finds our slot in a rotation block, decrypts it in the pairwise
// session (starting the session for an initial slot) and feeds the distribution to the
// sender's receiver.
func (t *txn) processRotation(g *storage.GroupRecord, gc *groupCache, rb *wire.RotationBlock) error {
	c := t.c
	inst := InstallationID(rb.Public.Installation)
	if inst == c.acct.inst {
		return errOwn
	}
	in, err := t.Installation(inst)
	if err != nil {
		return err
	}
	if in.Revoked || !gc.isMember(in.Account) {
		return ErrNotMember
	}
	// Cheap checks first: the key id is the installation's to claim, and we do not hold
	// the key already (rotation repeats carry the block again).
	if err := t.checkKeyOwner(g, inst, rb.Public.KeyID); err != nil {
		return errForged
	}
	if rec, err := t.Receiver(g.ID, inst); err == nil {
		var rcv senderkeys.Receiver
		if rcv.UnmarshalBinary(rec.State) == nil && rcv.Has(rb.Public.KeyID) {
			return nil
		}
	}
	// Then the owner's signature on the public part, before any slot (spec: protocol,
	// "Group messages"): a block that fails it is forged, and so is its frame.
	d := &senderkeys.Distribution{Group: rb.Public.Group, Installation: rb.Public.Installation, KeyID: rb.Public.KeyID,
		SigningKey: rb.Public.SigningKey, HasPrev: rb.Public.HasPrev, PrevKeyID: rb.Public.PrevKeyID,
		PrevLastIteration: rb.Public.PrevLastIteration, Signature: rb.Public.Signature}
	if string(d.Group) != string(g.ID[:]) || d.Verify(in.Signing) != nil {
		return errForged
	}
	// At most one slot is tried: the first one addressed to us.
	sl := ourSlot(rb.Slots, initialSlotHint(c.acct.inst), c.hints)
	if sl == nil {
		return errNotForUs
	}
	c.slotTries++
	var s *sess
	var otk *uint32
	if sl.Kind == wire.SlotInitial {
		if s, _, otk, err = t.respond(sl.Header, true); err != nil {
			return err
		}
	} else {
		rec, err := t.Session(c.hints[sl.Hint])
		if err != nil {
			return err
		}
		if s, err = t.loadSession(rec); err != nil {
			return err
		}
	}
	if s.rec.Remote != inst {
		return errNotForUs
	}
	pubBytes, err := rb.Public.Marshal()
	if err != nil {
		return err
	}
	pt, err := t.decryptOn(s, sl.Message, adSlot, slotContext(pubBytes))
	if err != nil {
		return err
	}
	if len(pt) != wire.SlotPlaintextSize {
		return errNotForUs
	}
	d.Iteration = binary.BigEndian.Uint32(pt[32:])
	copy(d.ChainKey[:], pt[:32])
	if err := t.processDistribution(g, &gc.state, d); err != nil {
		return err
	}
	if s.rec.ID == 0 {
		s.rec.RemoteAccount = in.Account
		if err := t.adoptResponder(s, otk); err != nil {
			return err
		}
	} else if err := t.saveSession(s, false); err != nil {
		return err
	}
	t.newKeys = true
	return nil
}

// ourSlot returns the first slot of a rotation block addressed to us: an initial slot
// with our initial hint, or a session slot with one of our receive hints.
func ourSlot(slots []wire.Slot, initHint [16]byte, hints map[[16]byte]int64) *wire.Slot {
	for i := range slots {
		sl := &slots[i]
		switch sl.Kind {
		case wire.SlotInitial:
			if sl.Hint == initHint {
				return sl
			}
		case wire.SlotSession:
			if _, ok := hints[sl.Hint]; ok {
				return sl
			}
		}
	}
	return nil
}

// openGroupMessage opens a senderkeys message and stores it.
func (t *txn) openGroupMessage(g *storage.GroupRecord, gc *groupCache, msg []byte) error {
	h, err := senderkeys.ParseHeader(msg)
	if err != nil {
		return err
	}
	rec, err := t.ReceiverByKey(g.ID, h.KeyID)
	if errors.Is(err, storage.ErrNotFound) {
		if g.Sender != nil {
			var own senderkeys.Sender
			if own.UnmarshalBinary(g.Sender) == nil && own.KeyID() == h.KeyID {
				return errOwn
			}
		}
		t.claim = append(append([]byte("key"), g.ID[:]...), h.KeyID[:]...)
		return errPending
	}
	if err != nil {
		return err
	}
	rcv := new(senderkeys.Receiver)
	if err := rcv.UnmarshalBinary(rec.State); err != nil {
		return err
	}
	pt, err := rcv.Open(msg)
	if err != nil {
		return err
	}
	if !gc.isMember(rec.Account) {
		return ErrNotMember
	}
	gp, err := wire.ParseGroupPlaintext(pt)
	if err != nil {
		return err
	}
	if !validContent(gp.Type, gp.Body) {
		return ErrInvalidContent
	}
	if rec.State, err = rcv.MarshalBinary(); err != nil {
		return err
	}
	if err := t.PutReceiver(rec); err != nil {
		return err
	}
	return t.acceptGroupMessage(g, gc, rec.Account, rec.Installation, messageID(g.ID, rec.Installation, h.KeyID, h.Iteration), gp)
}

// acceptGroupMessage stores an opened group message of installation inst (account
// account), records its causal history (R1: gp.History, or the short entries of a v2
// message) and acts on its content.
func (t *txn) acceptGroupMessage(g *storage.GroupRecord, gc *groupCache, account string, inst InstallationID, id MessageID, gp *wire.GroupPlaintext, short ...[wire.ShortEntrySize]byte) error {
	c := t.c
	now := c.now()
	mr := &storage.MessageRecord{ID: id, Group: g.ID, SenderAccount: account, SenderInstallation: inst, Clock: gp.Clock,
		Timestamp: time.UnixMilli(int64(gp.Timestamp)), ReceivedAt: now, Status: StatusReceived, Type: uint8(gp.Type), Body: gp.Body}
	inserted, err := t.PutMessage(mr)
	if err != nil {
		return err
	}
	if !inserted {
		return nil
	}
	entry := historyEntry(inst, id)
	// The closure keeps the short entry's copy: entry itself stays on the stack.
	short0 := shortEntry(entry[:])
	t.onCommit(func() { c.hot.addRecent(short0) })
	g.Clock = max(g.Clock, gp.Clock)
	g.History = pushHistory(g.History, entry)
	if err := t.clearExpected(g.ID, entry); err != nil {
		return err
	}
	for _, e := range gp.History {
		if InstallationID(e[:16]) == c.acct.inst || inHistory(g.History, e) {
			continue // ours, or among the messages we saw last: no lookup needed
		}
		seen, err := t.HasHistoryEntry(g.ID, e)
		if err != nil {
			return err
		}
		if !seen && t.mayExpect(gc, InstallationID(e[:16])) && t.mayExpectV2(g, e) {
			if err := t.PutExpected(&storage.ExpectedRecord{Group: g.ID, Entry: e, Since: now}); err != nil {
				return err
			}
		}
	}
	if err := t.expectShortHistory(g, gc, short, now); err != nil {
		return err
	}
	if err := t.putStateBefore(g, gc, gp); err != nil {
		return err
	}
	if gp.Type == wire.ContentMembership {
		// g is the group as just stored but for its event log and image (not read: the
		// change appends to the stored log, or writes it whole; storeLog).
		if err := t.receiveMembership(g, gc, gp.Body); err != nil {
			return err
		}
	}
	if gp.Type == wire.ContentDevices {
		if err := t.receiveDevicesContent(account, gp.Body); err != nil {
			return err
		}
	}
	t.emit(&MessageReceived{Message: messageReceived(mr, t.decoded)})
	return nil
}

func inHistory(h []byte, e [32]byte) bool {
	for i := 0; i+32 <= len(h); i += 32 {
		if [32]byte(h[i:i+32]) == e {
			return true
		}
	}
	return false
}
