// Key schedule v2, receiving: opening frames and group messages (key blocks: epochs_keyblock.go).

package protocol

import (
	"errors"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// openFrameV2 opens a v2 group payload with the live epochs of gc.
func openFrameV2(gc *groupCache, payload []byte) (*wire.FrameV2, epoch.Epoch, bool) {
	if len(gc.live) == 0 {
		return nil, epoch.Epoch{}, false
	}
	pt, ep, err := epoch.OpenOuter(gc.live, gc.topic, payload)
	if err != nil {
		return nil, epoch.Epoch{}, false
	}
	f, err := wire.ParseFrameV2(pt)
	if err != nil {
		return nil, epoch.Epoch{}, false
	}
	return f, ep, true
}

// signingKey65 returns an installation's signing key uncompressed.
func signingKey65(in *storage.InstallationRecord) ([]byte, error) {
	pub, err := crypto.DecompressPubkey(in.Signing[:])
	if err != nil {
		return nil, err
	}
	return crypto.FromECDSAPub(pub), nil
}

// handleGroupV2 processes a v2 group frame opened under epoch ep (spec: "Processing
// order"): the message first (a membership key event must be applicable before its
// block is looked at), then the key block.
func (t *txn) handleGroupV2(gc *groupCache, f *wire.FrameV2, ep epoch.Epoch) (err error) {
	c := t.c
	defer func() { // a departure its key block did not record (departV2)
		if err == nil && t.departing != nil {
			err = t.flushDeparture(gc)
		}
		t.departing = nil
	}()
	g, err := t.GroupState(gc.id)
	if err != nil {
		return err
	}
	var kb *epoch.KeyBlock
	var h epoch.MessageHeader
	if f.Message != nil {
		if h, err = epoch.ParseMessageHeader(f.Message); err != nil {
			return err
		}
	}
	if f.Block != nil {
		if kb, err = t.parseKeyBlock(epoch.ID(g.ID), f); err != nil {
			return errForged
		}
		if kb.Author == epoch.Installation(c.acct.inst) {
			return errOwn
		}
		if f.Message != nil && kb.Author != h.Installation {
			return errForged // a block rides only with its author's message
		}
		if err := t.verifyKeyBlock(g.ID, kb, f.Block, f.Message != nil); err != nil {
			return err
		}
		if joiningV2(gc) && f.Message == nil {
			// Joining from a creation Welcome: key blocks wait for the creation events.
			t.claim = append([]byte("inst"), kb.Author[:]...)
			return errPending
		}
	}
	if f.Message != nil {
		if kb != nil && kb.Kind == epoch.KindMembership && kb.Parts == 1 {
			t.departLater = gc // a removal's departure: recorded by processKeyBlock
		}
		err := t.openGroupMessageV2(g, gc, f.Message, h, ep, kb)
		t.departLater = nil
		switch {
		case errors.Is(err, ErrNotMember) && kb != nil && kb.Kind == epoch.KindRekey && !joiningV2(gc):
			// A rekey authored concurrently with its author's removal carries its message
			// (a heal's recent events) from an installation no longer a member: the
			// message is not stored, the block is judged by the rekey authority rule
			// (processKeyBlock), as it would be alone.
		case errors.Is(err, ErrNotMember) && kb != nil && kb.Kind == epoch.KindMembership && !joiningV2(gc) && t.departedApplied(gc, kb):
			// A membership key event applied before its publish came (with another's
			// history), its author gone since: the message is not stored, the block is
			// judged as processKeyBlock judges it whichever came first (refusedDeparted).
		case err != nil:
			return err
		}
		if kb == nil && t.states[gc.id] == nil {
			return nil // an ordinary message: nothing below applies (no re-read needed)
		}
		if g, err = t.GroupState(gc.id); err != nil {
			return err
		}
	}
	if g.Status != GroupActive || len(g.Schedule) == 0 {
		return nil
	}
	if kb == nil {
		if t.states[g.ID] != nil {
			t.healLater(g.ID) // a leave just applied needs a rekey
		}
		return nil
	}
	t.blockOuter = ep.ID
	err = t.processKeyBlock(g, gc, kb)
	t.blockOuter = epoch.ID{}
	if err != nil {
		if errors.Is(err, errPending) || errors.Is(err, errForged) {
			return err
		}
		c.log.Debug("key block not applied", "err", err)
		if t.states[g.ID] != nil {
			t.healLater(g.ID) // its membership change applied without it
		}
	}
	return nil
}

// openGroupMessageV2 opens a v2 message of epoch ep and stores it. With a membership key
// block in the same frame, the message must carry that event, authored by the block's
// author, and applicable; otherwise nothing is stored and the envelope waits (pending).
func (t *txn) openGroupMessageV2(g *storage.GroupRecord, gc *groupCache, msg []byte, h epoch.MessageHeader, ep epoch.Epoch, kb *epoch.KeyBlock) error {
	c := t.c
	inst := InstallationID(h.Installation)
	if inst == c.acct.inst {
		return errOwn
	}
	in, err := t.installationView(inst)
	if errors.Is(err, storage.ErrNotFound) {
		t.claim = append([]byte("inst"), inst[:]...)
		return errPending // a member's device we have not met yet
	}
	if err != nil {
		return err
	}
	joining := joiningV2(gc)
	departed := false // its author no member now: only an overridden membership event is taken (mayBeOverridden, departedConcurrent)
	if in.Revoked || !joining && !gc.isMember(in.Account) {
		if !mayBeOverridden(t.stateOf(gc), in, kb, joining) {
			return ErrNotMember
		}
		departed = true
	}
	if joining && (kb != nil || !createdBy(g.ChatID, in.Account)) {
		t.claim = append([]byte("inst"), inst[:]...)
		return errPending // joining: only the creator's creation message opens the group
	}
	key, err := c.hot.signingKey(in)
	if err != nil {
		return err
	}
	// The view's record, read only: putReceiverChainChange stores a new one.
	rec, err := t.receiverChainShared(g.ID, ep.ID, inst)
	rc := new(epoch.ReceiverChain)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		rc = epoch.NewReceiverChain(&ep, h.Installation)
		rec = &storage.EpochChainRecord{Group: g.ID, Epoch: ep.ID, Installation: inst}
	case err != nil:
		return err
	default:
		if err := rc.UnmarshalBinary(rec.State); err != nil {
			return err
		}
	}
	if h.Iteration < rc.Next() { // a skipped iteration's key, kept apart (epoch_skipped)
		mk, err := t.SkippedKey(g.ID, ep.ID, inst, h.Iteration)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err == nil {
			if err := rc.LoadSkipped(epoch.SkippedKey{Iteration: h.Iteration, Key: mk}); err != nil {
				return err
			}
			clear(mk[:])
		}
	}
	pt, change, err := rc.OpenTrackedAhead(c.hot.verify, key, msg, t.openedInner(msg))
	if err != nil {
		return err
	}
	gp2, err := wire.ParseGroupPlaintextV2(pt)
	if err != nil {
		return err
	}
	gp := gp2.Common()
	if !validContent(gp.Type, gp.Body) {
		return ErrInvalidContent
	}
	var created membership.State
	var createdLists [][]byte
	if joining {
		var ok bool
		if created, createdLists, ok = t.creationState(g, gp); !ok {
			t.claim = append([]byte("inst"), inst[:]...)
			return errPending // a later message of the creator's: it waits for the creation
		}
	}
	if kb != nil && kb.Kind == epoch.KindMembership {
		if gp.Type != wire.ContentMembership {
			return errForged
		}
		mm, err := wire.ParseMembership(gp.Body)
		if err != nil {
			return errForged
		}
		next, um, err := membership.Update(t.stateOf(gc), mm.Update, c.acct.id, c.now(), membership.ChorusRules())
		if err != nil {
			return errForged
		}
		ev, ok := appliedEvent(&next, kb.Event)
		if !ok {
			// Overridden as it is merged (rule C1: its author's step-down concurrent with
			// it): kept and stored as the rules say, its block refused (processKeyBlock;
			// fix 25, TestFix25RefusedOverriddenStepDown: the publish waited for good,
			// the event never stored here, and a later event naming it waited too).
			if ev, ok = overriddenEvent(&next, kb.Event); !ok {
				if _, waits := pendingEvent(&next, kb.Event); departed && !waits {
					return ErrNotMember // a departed author's publish waits only for a parent (fix 32)
				}
				t.claim = append([]byte("inst"), inst[:]...)
				return errPending // not applicable yet (a parent missing)
			}
		} else if departed {
			// Applied by rule C3 as it is merged, its author's removal concurrent with it:
			// taken as an overridden one (departedConcurrent); any other is refused.
			if _, before := appliedEvent(t.stateOf(gc), kb.Event); before || !departedConcurrent(stateLookup(&next), &next, ev) {
				return ErrNotMember
			}
		}
		if ev.From != in.Account {
			return errForged
		}
		t.updated = &updateMemo{base: t.stateOf(gc), update: mm.Update, next: next, msg: um}
		t.decoded = t.updated
	} else if departed {
		// No key block: only membership events the rules keep overridden (fix 31).
		if err := t.overriddenUpdate(gc, in.Account, gp); err != nil {
			if errors.Is(err, errPending) {
				t.claim = append([]byte("inst"), inst[:]...) // as a key event's (fix 35)
			}
			return err
		}
	}
	if err := t.putReceiverChainChange(rec, rc, &change); err != nil {
		return err
	}
	if departed {
		return t.mergeOverridden(g, gc) // its event only: the message is not stored
	}
	id := messageIDV2(g.ID, inst, ep.ID, h.Iteration)
	if err := t.acceptGroupMessage(g, gc, in.Account, inst, id, gp, gp2.History...); err != nil {
		return err
	}
	if joining {
		return t.joinedV2(g, &created, in.Account, createdLists)
	}
	return nil
}

// putReceiverChainChange stores a receiver chain after an Open: its row (the chain
// without skipped keys, and their count) and what changed of its skipped keys, one row
// each (the key used deleted, those skipped inserted, the oldest beyond
// epoch.MaxSkippedKeys evicted), so that a receive writes no more with past losses.
func (t *txn) putReceiverChainChange(read *storage.EpochChainRecord, rc *epoch.ReceiverChain, change *epoch.Change) error {
	// A new record (read may be the view's own, receiverChainShared), handed to the view.
	rec := new(storage.EpochChainRecord)
	*rec = *read
	var err error
	if rec.State, err = rc.MarshalHead(); err != nil {
		return err
	}
	sc := storage.SkippedKeysChange{Group: rec.Group, Epoch: rec.Epoch, Installation: rec.Installation,
		UsedSet: change.Used, Used: change.Iteration}
	if change.Used {
		rec.Skipped = max(rec.Skipped-1, 0)
	}
	if len(change.Added) > 0 {
		sc.Add = make([]storage.SkippedKey, len(change.Added))
		for i, k := range change.Added {
			sc.Add[i] = storage.SkippedKey{Iteration: k.Iteration, Key: k.Key}
		}
		rec.Skipped += len(change.Added)
		sc.Evict = max(rec.Skipped-epoch.MaxSkippedKeys, 0)
		rec.Skipped -= sc.Evict
	}
	if err := t.putReceiverChainOwned(rec); err != nil { // first: the keys' rows reference it
		return err
	}
	if sc.UsedSet || len(sc.Add) > 0 {
		return t.UpdateSkippedKeys(&sc)
	}
	return nil
}
