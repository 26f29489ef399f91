// Key schedule v2, sending: the sending epoch, message ids, sealing and queueing frames.

package protocol

import (
	"errors"
	"fmt"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
)

// v2Context is what a v2 send needs: schedule, bookkeeping, the epoch to seal under.
type v2Context struct {
	s  *epoch.Schedule
	m  *epochMeta
	ep epoch.Epoch
	// ride: the epoch is unhealed and the content is a device list that rides with the
	// rekey healing it, sealed under ep, our previous epoch (see ridesHeal).
	ride bool
}

// sendKind is what a send on a v2 group's topic carries (prepareV2).
type sendKind uint8

const (
	sendMessage  sendKind = iota // a message, or a membership change that is no key event
	sendDevices                  // our device list
	sendKeyEvent                 // a membership key event: its block reaches every member installation
)

// prepareV2 loads the schedule of a group we are in and returns the epoch to seal a send
// of kind k under. Every send of content on a v2 group's topic passes here (spec:
// "Nothing is sent under an unhealed epoch"): while the current epoch is unhealed it
// heals first — a rekey's block-only publish under our previous epoch, outs — and ep is
// the healed epoch. Two exceptions: a key event when no departed installation can
// compute the epoch (unhealed by a coverage gap or missing seeds only: the key event
// heals it itself, ep is our newest epoch), and a device list of ours that revokes the
// only departed installations the epoch reaches (ridesHeal: vc.ride, ep is the unhealed
// epoch, and the caller sends it with the rekey, rekeyV2). Epochs a departed
// installation may compute are marked: sealFrameV2 seals nothing but a rekey's frame
// under them.
func (t *txn) prepareV2(g *storage.GroupRecord, gc *groupCache, k sendKind) (*v2Context, []*storage.OutboxRecord, error) {
	s, m, err := loadV2(g)
	if err != nil {
		return nil, nil, err
	}
	schedule, meta := g.Schedule, g.EpochMeta // the send epoch's key (shared: see sendEpoch)
	bad := false
	if !gc.healthy.is(g.Schedule, g.EpochMeta) || t.states[g.ID] != nil {
		if bad, err = t.unhealed(gc, s, m); err != nil {
			return nil, nil, err
		}
		if !bad {
			healed := healedState{schedule: g.Schedule, meta: g.EpochMeta}
			t.onCommit(func() { gc.healthy = healed })
		}
	}
	vc := &v2Context{s: s, m: m}
	if !bad {
		if vc.ep, err = s.Current(); err != nil {
			return nil, nil, err
		}
		t.onCommit(func() { t.c.hot.setSendEpoch(g.ID, schedule, meta, vc.ep) })
		return vc, nil, nil
	}
	live := s.Live()
	departed := departedMayCompute(s, m)
	if departed {
		if t.unhealedEps == nil {
			t.unhealedEps = map[epoch.ID]bool{}
		}
		for i := range live {
			t.unhealedEps[live[i].ID] = true
		}
	}
	if k == sendDevices {
		if vc.ride, err = t.ridesHeal(m); err != nil {
			return nil, nil, err
		}
	}
	// A key event heals a gap itself, but not missing seeds: it would be sealed under an
	// older live epoch, one a departed installation may hold (review 8,
	// TestReview8KeyEventSealedUnderOldEpoch: a removal's seed late, an add was sealed under
	// the epoch before the removal).
	if !vc.ride && (departed || k != sendKeyEvent || len(s.Missing()) > 0) {
		outs, err := t.healBeforeSend(g, gc, vc)
		return vc, outs, err
	}
	if vc.ep, err = s.Current(); err != nil {
		if len(live) == 0 {
			return nil, nil, err
		}
		vc.ep = live[len(live)-1]
	}
	return vc, nil, nil
}

// ridesHeal reports whether a device list of ours may ride with the rekey that heals the
// current epoch, sealed under it: only when every departed installation the epoch still
// reaches is one of ours that is revoked — the list that revokes it is all it reads (it
// learns its revocation; the others apply it with the block that excludes it). With any
// other departed installation, or a list that revokes nothing, the rekey goes first.
func (t *txn) ridesHeal(m *epochMeta) (bool, error) {
	if len(m.Uncovered) == 0 {
		return false, nil
	}
	for _, id := range m.Uncovered {
		in, err := t.Installation(id)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if in.Account != t.c.acct.id || !in.Revoked {
			return false, nil
		}
	}
	return true, nil
}

// messageIDV2 computes a v2 group message id.
func messageIDV2(group GroupID, inst InstallationID, eid epoch.ID, iteration uint32) MessageID {
	return labelledMessageID(labelMessageIDV2, group, inst, eid[:], iteration)
}

// sealMessageV2 seals one group message under epoch ep with our sending chain of it
// (created at iteration 0, leased and stored before anything is published) and stores
// the message as Unpublished. It returns the v2 message and its id.
func (t *txn) sealMessageV2(g *storage.GroupRecord, ep *epoch.Epoch, typ wire.ContentType, body []byte) ([]byte, MessageID, error) {
	c := t.c
	// cur is the view's record (not modified); rec, a new one, is stored and kept by it.
	cur, err := t.senderChainShared(g.ID, ep.ID)
	rec := &storage.EpochChainRecord{Group: g.ID, Epoch: ep.ID}
	sc := new(epoch.SenderChain)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		sc = epoch.NewSenderChain(ep, epoch.Installation(c.acct.inst))
		t.onCommit(func() { c.resumedEpochs[ep.ID] = g.ID })
	case err != nil:
		return nil, MessageID{}, err
	default:
		rec.Lease = cur.Lease
		if err := sc.UnmarshalBinary(cur.State); err != nil {
			return nil, MessageID{}, err
		}
		if _, ok := c.resumedEpochs[ep.ID]; !ok {
			// The first seal of a process resumes above the durable lease (spec:
			// persistence, "Durability").
			if err := sc.SkipTo(rec.Lease); err != nil {
				return nil, MessageID{}, err
			}
			t.onCommit(func() { c.resumedEpochs[ep.ID] = g.ID })
		}
	}
	if it := sc.Iteration(); it >= rec.Lease {
		rec.Lease = uint32(min(uint64(it)+SenderLease, uint64(^uint32(0))-1))
		t.SyncOnCommit()
	}
	iteration := sc.Iteration()
	id := messageIDV2(g.ID, c.acct.inst, ep.ID, iteration)
	now := c.now()
	pt := &wire.GroupPlaintextV2{Clock: g.Clock + 1, Timestamp: uint64(now.UnixMilli()), Type: typ, Body: body,
		History: shortHistory(g.History)}
	ptb, err := pt.Marshal()
	if err != nil {
		return nil, MessageID{}, err
	}
	msg, err := sc.Seal(c.acct.ident.SigningKey(), ptb)
	if err != nil {
		return nil, MessageID{}, err
	}
	if rec.State, err = sc.MarshalBinary(); err != nil {
		return nil, MessageID{}, err
	}
	if err := t.putSenderChainOwned(rec); err != nil {
		return nil, MessageID{}, err
	}
	g.Clock++
	g.History = pushHistory(g.History, historyEntry(c.acct.inst, id))
	g.UpdatedAt = now
	mr := &storage.MessageRecord{ID: id, Group: g.ID, SenderAccount: c.acct.id, SenderInstallation: c.acct.inst, Clock: g.Clock,
		Timestamp: now, ReceivedAt: now, Outgoing: true, Status: StatusUnpublished, Type: uint8(typ), Body: body}
	if _, err := t.PutMessage(mr); err != nil {
		return nil, MessageID{}, err
	}
	return msg, id, nil
}

// sealGroupV2 is sealGroup for a v2 group: heal first if needed (prepareV2), then one
// publish with the message under the current epoch.
func (t *txn) sealGroupV2(g *storage.GroupRecord, gc *groupCache, typ wire.ContentType, body []byte) (MessageID, []*storage.OutboxRecord, error) {
	c := t.c
	if g.Status != GroupActive || !gc.isMember(c.acct.id) {
		return MessageID{}, nil, ErrNotMember
	}
	var vc *v2Context
	var outs []*storage.OutboxRecord
	var err error
	kind := sendMessage
	if typ == wire.ContentDevices {
		kind = sendDevices
	}
	if ep, ok := t.c.hot.sendEpoch(g.ID, g.Schedule, g.EpochMeta); ok && gc.healthy.is(g.Schedule, g.EpochMeta) && t.states[g.ID] == nil {
		vc = &v2Context{ep: ep.ep} // healed, the same schedule as the last send: its epoch
	} else if vc, outs, err = t.prepareV2(g, gc, kind); err != nil {
		return MessageID{}, nil, err
	}
	msg, id, err := t.sealMessageV2(g, &vc.ep, typ, body)
	if err != nil {
		return MessageID{}, nil, err
	}
	if err := t.PutGroupState(g); err != nil {
		return MessageID{}, nil, err
	}
	if vc.ride {
		// A device list that revokes rides with the rekey that heals the revocation,
		// under our previous epoch, as a key event does: the revoked installation learns
		// it, and the others apply it with the block that excludes it.
		outs, err := t.rekeyV2(g, gc, vc.s, vc.m, msg, &id)
		return id, outs, err
	}
	o, err := t.queueMessageFrame(g, &vc.ep, msg, &id)
	if err != nil {
		return MessageID{}, nil, err
	}
	return id, append(outs, o), nil
}

// queueMessageFrame seals a frame holding only our message msg under ep's outer key and
// queues it as queueFrames does, but with no replay marker: its copy coming back from the
// network is recognised in memory (Client.ownSent) and, after a restart, as our own
// message (errOwn) once its outer layer is opened, before any other work.
func (t *txn) queueMessageFrame(g *storage.GroupRecord, ep *epoch.Epoch, msg []byte, id *MessageID) (*storage.OutboxRecord, error) {
	payload, err := t.sealFrameV2(g, ep, &wire.FrameV2{Message: msg})
	if err != nil {
		return nil, err
	}
	// Sole: id is new (its iteration was just sealed), and this is its only record.
	o, err := t.queueRecord(g.Topic, payload, id, true)
	if err != nil {
		return nil, err
	}
	h, c := envelopeHash(g.Topic, payload), t.c
	t.onCommit(func() { c.ownSent.add(h) })
	return o, nil
}

// healBeforeSend rekeys an unhealed epoch before anything is sent (spec: "Nothing is sent under
// an unhealed epoch"): a block-only publish under our previous epoch, then vc.ep is the
// healed epoch our content is sealed under, in its own publish. Content never rides in
// the rekey's publish: sealed under the previous epoch it would be open to the departed
// installation that epoch still reaches (TestHealBeforeSend); a key event authored while
// unhealed is no exception, its frame (event and block) is sealed under the outer key of
// the epoch before it (TestNothingSentUnhealed).
func (t *txn) healBeforeSend(g *storage.GroupRecord, gc *groupCache, vc *v2Context) ([]*storage.OutboxRecord, error) {
	outs, err := t.rekeyV2(g, gc, vc.s, vc.m, nil, nil)
	if err != nil {
		return nil, err
	}
	if vc.ep, err = vc.s.Current(); err != nil {
		return nil, fmt.Errorf("protocol: no epoch after our own rekey: %w", err)
	}
	return outs, nil
}

// errUnhealedSeal: content about to be sealed under an epoch this transaction found a
// departed installation may compute (a bug: prepareV2 heals first).
var errUnhealedSeal = errors.New("protocol: content sealed under an unhealed epoch")

// sealFrameV2 encodes frame f and seals it under ep's outer key for g's topic: a payload
// that fits one publish. Every publish on a v2 group's topic is sealed here: under an
// epoch a departed installation may compute (marked by prepareV2) only a rekey's frame
// is, the rekey that heals it.
func (t *txn) sealFrameV2(g *storage.GroupRecord, ep *epoch.Epoch, f *wire.FrameV2) ([]byte, error) {
	if t.unhealedEps[ep.ID] && (len(f.Block) < 2 || f.Block[1] != epoch.KindRekey) {
		return nil, errUnhealedSeal
	}
	b, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	var payload []byte
	if s := t.c.hot.outerSealer(g.ID, ep); s != nil {
		payload, err = s.Seal(t.c.rand, g.Topic, b)
	} else {
		payload, err = epoch.SealOuter(t.c.rand, ep, g.Topic, b)
	}
	if err != nil {
		return nil, err
	}
	if len(payload) > transport.MaxPayload {
		return nil, fmt.Errorf("protocol: group frame of %d bytes exceeds the publish limit", len(payload))
	}
	return payload, nil
}

// queueFrames seals frames under ep's outer key and queues them.
func (t *txn) queueFrames(g *storage.GroupRecord, ep *epoch.Epoch, frames []*wire.FrameV2, id *MessageID) ([]*storage.OutboxRecord, error) {
	var outs []*storage.OutboxRecord
	for _, f := range frames {
		payload, err := t.sealFrameV2(g, ep, f)
		if err != nil {
			return nil, err
		}
		o, err := t.queue(g.Topic, payload, id)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}
