package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/chorus-im/chorus/doubleratchet"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/transport"
)

// Send sends content to a group and returns the message id. The message (with the
// advanced sender-key state) is stored as Unpublished before it is published; a failed
// publish is retried by Run (see MaxAttempts).
func (c *Client) Send(ctx context.Context, id GroupID, content Content) (MessageID, error) {
	typ, body, err := content.encode()
	if err != nil {
		return MessageID{}, err
	}
	var msgID MessageID
	var outs []*storage.OutboxRecord
	err = c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		g, gc, err := t.groupHot(id)
		if err != nil {
			return err
		}
		msgID, outs, err = t.sealGroup(g, gc, typ, body)
		return err
	})
	if err != nil {
		return MessageID{}, err
	}
	if len(outs) == 1 && outs[0].HasMessage && outs[0].Message == msgID {
		c.publishSole(ctx, id, outs[0])
	} else {
		c.publishIDs(ctx, outs)
	}
	return msgID, nil
}

// takeSender returns the cached sender if it is the one stored as b, and empties the
// cache (the caller owns it until its transaction commits and puts it back).
func (gc *groupCache) takeSender(b []byte) *senderkeys.Sender {
	s := gc.sender
	gc.sender = nil
	if s == nil || !bytes.Equal(gc.senderBytes, b) {
		return nil
	}
	return s
}

func (gc *groupCache) putSender(b []byte, s *senderkeys.Sender) { gc.senderBytes, gc.sender = b, s }

// messageID computes a group message id.
func messageID(group GroupID, inst InstallationID, key senderkeys.KeyID, iteration uint32) MessageID {
	return labelledMessageID(labelMessageID, group, inst, key[:], iteration)
}

// labelledMessageID is SHA-256(u8<label> || group || installation || key or epoch id ||
// u32 iteration): the message id of v1 (key id) and of v2 (epoch id).
func labelledMessageID(label string, group GroupID, inst InstallationID, key []byte, iteration uint32) MessageID {
	h := sha256.New()
	h.Write([]byte{byte(len(label))})
	h.Write([]byte(label))
	h.Write(group[:])
	h.Write(inst[:])
	h.Write(key)
	var it [4]byte
	binary.BigEndian.PutUint32(it[:], iteration)
	h.Write(it[:])
	var id MessageID
	h.Sum(id[:0])
	return id
}

func historyEntry(inst InstallationID, id MessageID) [32]byte {
	var e [32]byte
	copy(e[:16], inst[:])
	copy(e[16:], id[:16])
	return e
}

// pushHistory appends an entry to a group's recent-history list (kept at HistoryLength).
func pushHistory(h []byte, e [32]byte) []byte {
	out := append(append(make([]byte, 0, len(h)+len(e)), h...), e[:]...)
	if n := len(out) / 32; n > HistoryLength {
		out = out[(n-HistoryLength)*32:]
	}
	return out
}

// slotContext binds slots to the public distribution they complete.
func slotContext(pub []byte) []byte {
	h := sha256.New()
	h.Write([]byte(labelDistContext))
	h.Write(pub)
	return h.Sum(nil)
}

// initialSlotHint is the hint of an initial (X3DH) slot for installation inst.
func initialSlotHint(inst InstallationID) [16]byte {
	h := sha256.New()
	h.Write([]byte(labelInitialSlot))
	h.Write(inst[:])
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// sealGroup builds, seals and queues one group message: it rotates the sender key if a
// member left, distributes the current key to member installations that lack it (the
// rotation block, in the same publish), and stores sender state, sessions, the message
// (Unpublished) and the outbox records in the caller's transaction.
func (t *txn) sealGroup(g *storage.GroupRecord, gc *groupCache, typ wire.ContentType, body []byte) (MessageID, []*storage.OutboxRecord, error) {
	c := t.c
	if gc.v2 {
		return t.sealGroupV2(g, gc, typ, body)
	}
	if g.Status != GroupActive || !gc.isMember(c.acct.id) {
		return MessageID{}, nil, ErrNotMember
	}
	sender := new(senderkeys.Sender)
	var err error
	switch {
	case g.Sender == nil:
		if sender, err = senderkeys.NewSender(c.rand, g.ID[:]); err != nil {
			return MessageID{}, nil, err
		}
		g.Distribute, g.SenderLease = true, 0
		if err := t.ClearDistributed(g.ID); err != nil {
			return MessageID{}, nil, err
		}
	default:
		if cached := gc.takeSender(g.Sender); cached != nil {
			sender = cached
		} else if err := sender.UnmarshalBinary(g.Sender); err != nil {
			return MessageID{}, nil, err
		}
		if g.Rotate {
			if sender, err = sender.Rotate(c.rand); err != nil {
				return MessageID{}, nil, err
			}
			g.Rotate, g.Distribute, g.SenderLease = false, true, 0
			if err := t.ClearDistributed(g.ID); err != nil {
				return MessageID{}, nil, err
			}
		}
	}
	if err := t.leaseIteration(g, sender); err != nil {
		return MessageID{}, nil, err
	}
	var slots []wire.Slot
	var pub wire.PublicDistribution
	var done []InstallationID
	if g.Distribute {
		slots, pub, done, err = t.buildSlots(g, gc, sender)
		if err != nil {
			return MessageID{}, nil, err
		}
	}
	keyID, iteration := sender.KeyID(), sender.Iteration()
	id := messageID(g.ID, c.acct.inst, keyID, iteration)
	now := c.now()
	pt := &wire.GroupPlaintext{Clock: g.Clock + 1, Timestamp: uint64(now.UnixMilli()), Type: typ, Body: body}
	for i := 0; i+32 <= len(g.History); i += 32 {
		var e [32]byte
		copy(e[:], g.History[i:i+32])
		pt.History = append(pt.History, e)
	}
	ptb, err := pt.Marshal()
	if err != nil {
		return MessageID{}, nil, err
	}
	sealed, err := sender.Seal(ptb)
	if err != nil {
		return MessageID{}, nil, err
	}
	frames, err := packFrames(pub, slots, sealed, c.frameLimit)
	if err != nil {
		return MessageID{}, nil, err
	}
	if err := t.repeatRotation(g, frames, len(slots) > 0, keyID); err != nil {
		return MessageID{}, nil, err
	}
	if g.Sender, err = sender.MarshalBinary(); err != nil {
		return MessageID{}, nil, err
	}
	g.Clock++
	g.History = pushHistory(g.History, historyEntry(c.acct.inst, id))
	g.Distribute = false
	g.UpdatedAt = now
	if err := t.PutGroupState(g); err != nil {
		return MessageID{}, nil, err
	}
	stored := g.Sender
	t.onCommit(func() { gc.putSender(stored, sender) })
	if err := t.MarkDistributed(g.ID, done); err != nil {
		return MessageID{}, nil, err
	}
	rec := &storage.MessageRecord{ID: id, Group: g.ID, SenderAccount: c.acct.id, SenderInstallation: c.acct.inst, Clock: g.Clock,
		Timestamp: now, ReceivedAt: now, Outgoing: true, Status: StatusUnpublished, Type: uint8(typ), Body: body}
	if _, err := t.PutMessage(rec); err != nil {
		return MessageID{}, nil, err
	}
	var outs []*storage.OutboxRecord
	for _, f := range frames {
		payload, err := sealFrame(c.rand, gc, f)
		if err != nil {
			return MessageID{}, nil, err
		}
		oid, err := t.queue(g.Topic, payload, &id)
		if err != nil {
			return MessageID{}, nil, err
		}
		outs = append(outs, oid)
	}
	return id, outs, nil
}

// leaseIteration makes sure the iteration sender is about to seal is covered by a
// durable lease (spec: persistence, "Durability"). The first seal of a process resumes
// above the stored lease (the commits after the last sync may have been lost with a power
// loss, and with them the record of iterations already sealed and published); when the
// iteration reaches the lease, the lease moves SenderLease ahead and the transaction is
// synced before anything it sealed is published.
func (t *txn) leaseIteration(g *storage.GroupRecord, sender *senderkeys.Sender) error {
	c := t.c
	if !c.resumed[g.ID] {
		if err := sender.SkipTo(g.SenderLease); err != nil {
			return err
		}
		t.onCommit(func() { c.resumed[g.ID] = true })
	}
	if it := sender.Iteration(); it >= g.SenderLease {
		g.SenderLease = uint32(min(uint64(it)+SenderLease, uint64(^uint32(0))-1))
		t.SyncOnCommit()
	}
	return nil
}

// releaseLeases lowers the sender leases of the groups this process sent in, and the
// sending-chain leases of the sessions it used, to the iterations and message numbers
// actually used, so that a clean restart skips none. Committed without a sync:
// a power loss either keeps it, and with it every earlier commit, or loses it and keeps
// the higher lease.
func (c *Client) releaseLeases() {
	c.mu.Lock()
	ids := make([]GroupID, 0, len(c.resumed))
	for id := range c.resumed {
		ids = append(ids, id)
	}
	sids := make([]int64, 0, len(c.resumedSessions))
	for id := range c.resumedSessions {
		sids = append(sids, id)
	}
	chains := maps.Clone(c.resumedEpochs)
	c.mu.Unlock()
	if len(ids) == 0 && len(sids) == 0 && len(chains) == 0 {
		return
	}
	err := c.tx(context.Background(), func(t *txn) error {
		for _, id := range sids {
			rec, err := t.Session(id)
			if err != nil {
				continue
			}
			var dr doubleratchet.Session
			if dr.UnmarshalBinary(rec.State) != nil {
				continue
			}
			changed := false
			if pub, n, ok := dr.SendingChain(); ok && pub == rec.LeaseKey && n < rec.SendLease {
				rec.SendLease, changed = n, true
			}
			if hc, err := parseHintChain(rec.HintChain); err == nil && hc.sendNext < hc.sendLease {
				hc.sendLease, changed = hc.sendNext, true // hint indices likewise (hintchain.go)
				rec.HintChain = hc.marshal()
			}
			if changed {
				if err := t.PutSession(rec); err != nil {
					return err
				}
			}
		}
		for _, id := range ids {
			g, err := t.GroupState(id)
			if err != nil || g.Sender == nil {
				continue
			}
			var s senderkeys.Sender
			if err := s.UnmarshalBinary(g.Sender); err != nil || s.Iteration() >= g.SenderLease {
				continue
			}
			g.SenderLease = s.Iteration()
			if err := t.PutGroupState(g); err != nil {
				return err
			}
		}
		return releaseEpochLeases(t, chains)
	})
	if err != nil {
		c.log.Debug("releasing sender leases", "err", err)
	}
}

// repeatRotation implements rotation repeats: a rotation block that fit one publish is
// remembered and carried again, byte for byte, by the next RotationRepeats messages of
// the same sender key, so that a recipient that lost the first one can still read the
// sender without history (the slots are the same ciphertexts: no key is used again).
func (t *txn) repeatRotation(g *storage.GroupRecord, frames []*wire.GroupFrame, fresh bool, key senderkeys.KeyID) error {
	n := t.c.opt.repeats
	if fresh {
		g.Repeat, g.RepeatLeft = nil, 0
		if len(frames) == 1 && n > 0 {
			b, err := (&wire.GroupFrame{Rotation: frames[0].Rotation}).Marshal()
			if err != nil {
				return err
			}
			g.Repeat, g.RepeatLeft = b, n
		}
		return nil
	}
	if g.RepeatLeft <= 0 || g.Repeat == nil || len(frames) != 1 || frames[0].Rotation != nil {
		return nil
	}
	g.RepeatLeft--
	old, err := wire.ParseGroupFrame(g.Repeat)
	if err != nil || old.Rotation == nil || old.Rotation.Public.KeyID != key {
		g.Repeat, g.RepeatLeft = nil, 0 // stale: our key rotated since
		return nil
	}
	f := &wire.GroupFrame{Rotation: old.Rotation, Message: frames[0].Message}
	if b, err := f.Marshal(); err != nil || len(b) > t.c.frameLimit {
		return nil
	}
	frames[0] = f
	return nil
}

// buildSlots encrypts the sender's current (chain key, iteration) to every member
// installation that does not hold it yet, each in its pairwise session (starting one
// with X3DH where needed: an initial slot). It returns the slots, the public part of the
// distribution and the installations served.
func (t *txn) buildSlots(g *storage.GroupRecord, gc *groupCache, sender *senderkeys.Sender) ([]wire.Slot, wire.PublicDistribution, []InstallationID, error) {
	c := t.c
	var pub wire.PublicDistribution
	d, err := sender.Distribution(c.acct.ident.SigningKey(), c.acct.inst)
	if err != nil {
		return nil, pub, nil, err
	}
	pub = wire.PublicDistribution{Group: d.Group, Installation: d.Installation, KeyID: d.KeyID, SigningKey: d.SigningKey,
		HasPrev: d.HasPrev, PrevKeyID: d.PrevKeyID, PrevLastIteration: d.PrevLastIteration, Signature: d.Signature}
	pubBytes, err := pub.Marshal()
	if err != nil {
		return nil, pub, nil, err
	}
	ctx := slotContext(pubBytes)
	var pt [wire.SlotPlaintextSize]byte
	copy(pt[:32], d.ChainKey[:])
	binary.BigEndian.PutUint32(pt[32:], d.Iteration)
	have, err := t.Distributed(g.ID)
	if err != nil {
		return nil, pub, nil, err
	}
	haveSet := make(map[InstallationID]bool, len(have))
	for _, h := range have {
		haveSet[h] = true
	}
	targets, err := t.memberInstallations(&gc.state)
	if err != nil {
		return nil, pub, nil, err
	}
	var slots []wire.Slot
	var done []InstallationID
	for i := range targets {
		in := &targets[i]
		if haveSet[in.ID] {
			continue
		}
		s, err := t.sessionTo(in)
		if err != nil {
			c.log.Debug("rotation: no session", "installation", in.ID.String()[:8], "err", err)
			continue
		}
		msg, err := s.dr.Encrypt(pt[:], drAD(s.rec.AD, adSlot, ctx))
		if err != nil {
			return nil, pub, nil, err
		}
		sl := wire.Slot{Kind: wire.SlotSession, Hint: s.rec.SendHint, Message: msg}
		if s.pendingInitial() {
			_, hdr := s.x3dhHeader()
			sl = wire.Slot{Kind: wire.SlotInitial, Hint: initialSlotHint(in.ID), Header: hdr, Message: msg}
		}
		if err := t.saveSession(s, false); err != nil {
			return nil, pub, nil, err
		}
		slots = append(slots, sl)
		done = append(done, in.ID)
	}
	return slots, pub, done, nil
}

// packFrames puts the rotation block (if any) and the message in as few frames as fit
// one publish each: one frame whenever possible; otherwise the slots are split into parts
// (each with the public distribution), the message riding in part 0.
func packFrames(pub wire.PublicDistribution, slots []wire.Slot, msg []byte, maxFrame int) ([]*wire.GroupFrame, error) {
	if len(slots) == 0 {
		return []*wire.GroupFrame{{Message: msg}}, nil
	}
	base := wire.RotationOverhead(&pub)
	msgCost := 4 + len(msg)
	var parts [][]wire.Slot
	var cur []wire.Slot
	size := base + msgCost // part 0 carries the message
	for _, sl := range slots {
		n := sl.Size()
		if len(cur) > 0 && (size+n > maxFrame || len(cur) >= wire.MaxSlots) {
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
	if len(parts) > 0xffff {
		return nil, errors.New("protocol: rotation block too large")
	}
	frames := make([]*wire.GroupFrame, len(parts))
	for i, p := range parts {
		frames[i] = &wire.GroupFrame{Rotation: &wire.RotationBlock{Public: pub, Part: uint16(i), Parts: uint16(len(parts)), Slots: p}}
	}
	frames[0].Message = msg
	return frames, nil
}

// sealFrame encrypts a frame under the group key: version || nonce(24) || XChaCha20-Poly1305
// ciphertext, with the version byte and the topic as associated data.
func sealFrame(rand io.Reader, gc *groupCache, f *wire.GroupFrame) ([]byte, error) {
	pt, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+wire.NonceSize, 1+wire.NonceSize+len(pt)+16)
	out[0] = wire.Version
	if _, err := io.ReadFull(rand, out[1:]); err != nil {
		return nil, err
	}
	out = gc.aead.Seal(out, out[1:1+wire.NonceSize], pt, frameAD(gc.topic))
	if len(out) > transport.MaxPayload {
		return nil, fmt.Errorf("protocol: group frame of %d bytes exceeds the publish limit", len(out))
	}
	return out, nil
}

func frameAD(topic string) []byte { return append([]byte{wire.Version}, topic...) }

// openFrame decrypts a group payload; ok is false if it is not for this group.
func openFrame(gc *groupCache, payload []byte) (*wire.GroupFrame, bool) {
	if len(payload) < groupOverhead || payload[0] != wire.Version {
		return nil, false
	}
	pt, err := gc.aead.Open(nil, payload[1:1+wire.NonceSize], payload[1+wire.NonceSize:], frameAD(gc.topic))
	if err != nil {
		return nil, false
	}
	f, err := wire.ParseGroupFrame(pt)
	if err != nil {
		return nil, false
	}
	return f, true
}
